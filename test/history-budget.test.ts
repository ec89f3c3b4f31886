/**
 * When a fleet run finishes the fleet instead of continuing as new (workflows/history-budget.ts): the
 * rest must fit a quarter past the budget, counted from the servers still to start and in flight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restFitsInRun, type RunRest } from '../workflows/history-budget';

const atBudget: RunRest = {
  historyLength: 1_800,
  continueAsNewSuggested: false,
  toStart: 15,
  inFlight: 100,
  budget: 2_000,
};

describe('restFitsInRun', () => {
  it('lets the last run of a fleet finish the few servers left', () => {
    // 1,800 + 15 × 6 + 100 × 3 = 2,190 events, under 2,500.
    assert.equal(restFitsInRun(atBudget), true);
  });

  it('continues as new when the servers still to start would take the run past a quarter over its budget', () => {
    // 1,800 + 70 × 6 + 100 × 3 = 2,520.
    assert.equal(restFitsInRun({ ...atBudget, toStart: 70 }), false);
  });

  it('counts the servers in flight too', () => {
    assert.equal(restFitsInRun({ ...atBudget, toStart: 0, inFlight: 234 }), false);
    assert.equal(restFitsInRun({ ...atBudget, toStart: 0, inFlight: 233 }), true);
  });

  it('continues as new when Temporal suggests it, whatever is left', () => {
    assert.equal(restFitsInRun({ ...atBudget, toStart: 0, inFlight: 1, continueAsNewSuggested: true }), false);
  });

  it('scales with the budget (a test fleet of budget 200 still continues as new)', () => {
    assert.equal(restFitsInRun({ ...atBudget, historyLength: 184, toStart: 16, inFlight: 4, budget: 200 }), false);
    assert.equal(restFitsInRun({ ...atBudget, historyLength: 184, toStart: 8, inFlight: 4, budget: 200 }), true);
  });
});
