/**
 * The workflow bundle shares zod between workflows (workflows/preload.ts): the module the preload
 * evaluates must be the very module workflow code requires, or each workflow evaluates its own copy
 * (the bundler keys shared modules by the file a specifier resolved to, and zod ships an ES module
 * and a CommonJS build).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
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

  it('maps its code back to the workflow sources, without their text', () => {
    // The inline map the SDK reads (it refuses a bundle without one) to name files and lines in stack traces.
    const url = /\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)\s*$/.exec(code)?.[1];
    assert.ok(url, 'the bundle has no inline source map');
    const payload = JSON.parse(Buffer.from(url, 'base64').toString('utf8')) as { sourcesContent?: unknown };
    assert.equal(payload.sourcesContent, undefined, 'the map carries the sources text');
    // A line of the fleet workflow, wherever the bundler put it, maps to that line of its source file.
    const source = fs.readFileSync(path.join(__dirname, '..', 'workflows', 'onboard-fleet.ts'), 'utf8').split('\n');
    const sourceLine = source.findIndex((l) => l.includes('const lean = wf.patched(LEAN_FLEET_PATCH)'));
    // Transpiled, the namespace import has another name.
    const bundleLine = code.split('\n').findIndex((l) => /const lean = \S+\.patched\(LEAN_FLEET_PATCH\)/.test(l));
    assert.ok(sourceLine >= 0 && bundleLine >= 0, 'the marker line is missing from the source or the bundle');
    const entry = new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]).findEntry(bundleLine, 10) as {
      originalSource?: string;
      originalLine?: number;
    };
    assert.match(entry.originalSource ?? '', /workflows\/onboard-fleet\.ts$/);
    assert.equal(entry.originalLine, sourceLine);
  });
});
