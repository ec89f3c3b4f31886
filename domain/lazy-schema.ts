/**
 * Schemas built on first use, and zod loaded only then.
 *
 * Why: the workflow sandbox evaluates every module of the workflow bundle again for each workflow it
 * runs (module state is per workflow). Loading zod and building the step, fleet and message schemas at
 * module load cost every server workflow about 25 ms of CPU before its first command (bench: `npm run
 * bench`, README "Benchmark"), though a workflow parses nothing but the odd message. Node-side code
 * (CLI, activities, lab) builds a schema once per process, the first time it parses with it.
 *
 * A lazy schema is an ordinary zod schema to everyone who uses it (`parse`, `optional()`, `extend`,
 * `instanceof`, `z.infer<typeof s>`): the first property read builds the real schema and takes over
 * its properties and prototype, so afterwards it is that schema, with no indirection left.
 */
import type { z } from 'zod';

export type Zod = typeof z;

let loaded: Zod | undefined;

/** zod itself, loaded on the first call (a module-level import would load it with every workflow). */
export function zod(): Zod {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
  loaded ??= (require('zod') as { z: Zod }).z;
  return loaded;
}

/** What one placeholder needs until it is built: the schema object itself and how to build it. */
interface Pending {
  schema: object;
  build: ((z: Zod) => object) | undefined;
}

/** Turns the placeholder into the schema `build` makes (once; a schema that uses itself is refused). */
function materialise(pending: Pending): void {
  const { build } = pending;
  if (!build) throw new Error('lazySchema: a schema uses itself while it is built (use z.lazy for recursion)');
  pending.build = undefined;
  let real: object;
  try {
    real = build(zod());
  } catch (err) {
    pending.build = build;
    throw err;
  }
  Object.defineProperties(pending.schema, Object.getOwnPropertyDescriptors(real));
  Object.setPrototypeOf(pending.schema, Object.getPrototypeOf(real) as object | null);
}

/**
 * One handler for every placeholder's prototype (a workflow creates dozens of placeholders, so they
 * carry no closures of their own): any lookup that reaches the prototype builds the schema first.
 */
const PENDING_HANDLER: ProxyHandler<Pending> = {
  get(pending, key, receiver) {
    materialise(pending);
    return Reflect.get(pending.schema, key, receiver);
  },
  set(pending, key, value, receiver) {
    materialise(pending);
    return Reflect.set(pending.schema, key, value, receiver);
  },
  has(pending, key) {
    materialise(pending);
    return key in pending.schema;
  },
};

/**
 * `build(z)` runs on the first read of any property of the returned schema (a parse, a method,
 * composition into another schema); other lazy schemas it uses are built then too.
 */
export function lazySchema<T extends object>(build: (z: Zod) => T): T {
  const pending: Pending = { schema: {}, build };
  // Until it is built the placeholder has nothing of its own: every lookup reaches the trap.
  Object.setPrototypeOf(pending.schema, new Proxy(pending, PENDING_HANDLER));
  return pending.schema as T;
}
