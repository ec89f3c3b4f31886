import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decisionForServer,
  MAX_STANDING_DECISIONS_BYTES,
  standingDecisionsRefusal,
  type StandingDecision,
} from '../domain/approvals';

const decision = (servers: StandingDecision['servers']): StandingDecision => ({
  kind: 'trusted-hosts-wildcard',
  servers,
  decision: 'approve',
  approver: 'alice',
  reason: 'CAB-1',
  at: '2026-11-26T10:00:00.000Z',
});

describe('fleet decisions as servers receive them', () => {
  it('a listed decision reaches a server cut down to that server, and not at all a server it does not name', () => {
    const listed = decision(Array.from({ length: 3_000 }, (_, i) => `exch${i}.corp.example`));
    assert.deepEqual(decisionForServer(listed, 'exch42.corp.example'), { ...listed, servers: ['exch42.corp.example'] });
    assert.equal(decisionForServer(listed, 'other.corp.example'), undefined);
    const all = decision('all');
    assert.deepEqual(decisionForServer(all, 'other.corp.example'), all);
  });

  it('refuses decisions that would outgrow what the fleet can carry, saying what to do instead', () => {
    const names = (n: number, from: number) => Array.from({ length: n }, (_, i) => `exch${from + i}.corp.example`);
    const few = [decision('all'), decision(names(100, 0))];
    assert.equal(standingDecisionsRefusal(few), undefined);
    const many = Array.from({ length: 10 }, (_, k) => decision(names(1_000, k * 1_000)));
    assert.ok(JSON.stringify(many).length > MAX_STANDING_DECISIONS_BYTES);
    assert.match(
      standingDecisionsRefusal(many) ?? '',
      /more than the 200 kB it can carry: decide for all servers at once/
    );
  });
});
