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

/**
 * `build(z)` runs on the first read of any property of the returned schema (a parse, a method,
 * composition into another schema); other lazy schemas it uses are built then too.
 */
export function lazySchema<T extends object>(build: (z: Zod) => T): T {
  const schema = Object.create(null) as T;
  let building = false;
  const materialise = (): void => {
    if (building) throw new Error('lazySchema: a schema uses itself while it is built (use z.lazy for recursion)');
    building = true;
    const real = build(zod());
    Object.defineProperties(schema, Object.getOwnPropertyDescriptors(real));
    Object.setPrototypeOf(schema, Object.getPrototypeOf(real) as object | null);
  };
  // Until then the only thing the placeholder has is this prototype, which every lookup reaches.
  const trap = new Proxy(Object.create(null) as object, {
    get(_target, key, receiver) {
      materialise();
      return Reflect.get(schema, key, receiver);
    },
    set(_target, key, value, receiver) {
      materialise();
      return Reflect.set(schema, key, value, receiver);
    },
    has(_target, key) {
      materialise();
      return key in schema;
    },
  });
  Object.setPrototypeOf(schema, trap);
  return schema;
}
