/**
 * Evaluated once per workflow thread and shared by every workflow it runs (the bundle's
 * `preloadModules`, workers/workflow-bundle.ts `WORKFLOW_PRELOAD_MODULES`), instead of once per workflow:
 * zod. A workflow that parses a message (a relayed fleet decision, an approval, an update) used to
 * evaluate its own copy of zod first, some 5 ms and a few hundred kB per workflow (README "What the time
 * goes to"). Shared modules are frozen after this runs, so anything zod initialises lazily and keeps at
 * module level (whether `new Function` may be used, read when the first object schema is built) is
 * initialised here, before the freeze. Only stateless libraries belong here: a preloaded module's
 * state would be shared between workflows.
 *
 * zod is loaded through `zod()`, the one way workflow code loads it: the bundler shares a module by
 * the file it resolved to, and an `import` here resolved to zod's ES module build while the schemas'
 * `require` resolves to its CommonJS build, so every workflow still evaluated a copy of its own.
 * That makes domain/lazy-schema.ts shared (and frozen) too: its one module value is zod itself, while
 * the schemas it builds belong to the per-workflow modules that declare them.
 */
import { zod } from '../domain/lazy-schema';

const z = zod();
z.object({ warm: z.string() }).safeParse({ warm: '' });
