/**
 * The workflow bundle shares zod between workflows (workflows/preload.ts): the module the preload
 * evaluates must be the very module workflow code requires, or each workflow evaluates its own copy
 * (the bundler keys shared modules by the file a specifier resolved to, and zod ships an ES module
 * and a CommonJS build).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, it } from 'node:test';
import { bundleWorkflows } from '../workers/workflow-bundle';

/** The module ids the bundle's code asks for under the specifier `zod`. */
function zodModuleIds(code: string): Set<string> {
  return new Set([...code.matchAll(/__webpack_require__\(\/\*! zod \*\/ "([^"]+)"\)/g)].map((m) => m[1] ?? ''));
}

/** The module ids one module of the bundle requires. */
function requiresOf(code: string, id: string): string[] {
  const start = code.indexOf(`/***/ ${JSON.stringify(id)}`);
  if (start < 0) return [];
  const end = code.indexOf('/***/ "', start + 1);
  const body = code.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/__webpack_require__\(\/\*! [^*]+ \*\/ "([^"]+)"\)/g)].map((m) => m[1] ?? '');
}

describe('workflow bundle', () => {
  let code = '';
  before(async () => {
    // The bundle `npm test` built once, as the other tests' workers run it; else build one.
    const built = process.env.FLEET_TEST_WORKFLOW_BUNDLE;
    code = built ? fs.readFileSync(built, 'utf8') : await bundleWorkflows();
  });

  it('loads zod as one module, so the preloaded copy is the one every workflow uses', () => {
    const ids = zodModuleIds(code);
    assert.equal(ids.size, 1, `zod resolves to ${ids.size} modules: ${[...ids].join(', ')}`);
  });

  it('preloads that module before any workflow runs', () => {
    const preloaded = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    const [zodId] = zodModuleIds(code);
    // The preloaded modules and what they require, transitively: one of them requires zod.
    const seen = new Set<string>();
    const queue = [...preloaded.matchAll(/"([^"]+)"\)/g)].map((m) => m[1] ?? '');
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...requiresOf(code, id));
    }
    assert.ok(zodId && seen.has(zodId), `the preloaded modules (${[...seen].join(', ')}) do not load ${zodId}`);
  });
});
