import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVER_PHASES, type ServerPhase } from '../domain/status';
import { PhaseTally } from '../workflows/phase-tally';

/** The counts the fleet used to recompute from every phase on each check. */
function recount(phases: Record<string, ServerPhase>): Partial<Record<ServerPhase, number>> {
  const counts: Partial<Record<ServerPhase, number>> = {};
  for (const p of Object.values(phases)) counts[p] = (counts[p] ?? 0) + 1;
  return counts;
}

describe('PhaseTally', () => {
  it('keeps its counts equal to a full recount through any sequence of changes', () => {
    const phases: Record<string, ServerPhase> = { a: 'queued', b: 'queued', c: 'running', d: 'onboarded' };
    const tally = new PhaseTally(phases);
    assert.deepEqual(tally.byPhase(), recount(phases));
    // A fixed pseudo-random walk: deterministic, and covers setting a phase to the one it already has.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let i = 0; i < 500; i++) {
      tally.set(names[next(names.length)], SERVER_PHASES[next(SERVER_PHASES.length)]);
      assert.deepEqual(tally.byPhase(), recount(phases), `after change ${i}`);
    }
    assert.equal(tally.count(['failed', 'aborted']), (recount(phases).failed ?? 0) + (recount(phases).aborted ?? 0));
  });

  it('writes through to the record it was given, which the fleet carries across continue-as-new', () => {
    const phases: Record<string, ServerPhase> = { a: 'queued' };
    const tally = new PhaseTally(phases);
    tally.set('a', 'running');
    tally.set('b', 'duplicate');
    assert.deepEqual(phases, { a: 'running', b: 'duplicate' });
    assert.equal(tally.has('b'), true);
    assert.equal(tally.has('z'), false);
    assert.equal(tally.count(['queued']), 0);
    assert.deepEqual(tally.byPhase(), { running: 1, duplicate: 1 });
  });
});
