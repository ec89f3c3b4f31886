/**
 * Current Details as the Web UI 2.42 renders them: values in code spans (no curly quotes or fraction
 * glyphs), lists after a blank line, capped lengths, refusals with who, what, why and when.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PendingApproval, RefusedDecision } from '../domain/approvals';
import type { PlannedChange } from '../domain/risk';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { STEPS } from '../domain/steps';
import { stepActivitySummary } from '../workflows/onboard-server';
import { approvalWaitSummary } from '../workflows/approval-gate';
import { rotationActivitySummary } from '../workflows/rotate-certificates';
import {
  code,
  refusedSender,
  renderFleetDetails,
  renderRotationDetails,
  renderServerDetails,
} from '../workflows/render';

const change: PlannedChange = {
  id: 'exch01.corp.example/setTrustedHosts/trusted-hosts-wildcard',
  fqdn: 'exch01.corp.example',
  step: 'setTrustedHosts',
  kind: 'trusted-hosts-wildcard',
  text: "EXCH01: TrustedHosts '' -> '*'",
  from: '',
  to: '*',
  reason: 'Any host can be trusted for NTLM.',
  saferAlternative: 'list the Monosync servers',
};
const pending: PendingApproval = {
  change,
  requestedAt: '2026-12-02T07:00:00.000Z',
  expiresAt: '2026-12-05T07:00:00.000Z',
};
const forged: RefusedDecision = {
  received: JSON.stringify({ changeId: change.id, decision: 'approve', approver: 'mallory', reason: 'trust me' }),
  refusal: 'mallory is not an approver of this fleet',
  at: '2026-12-02T07:05:00.000Z',
  via: 'signal',
};

function server(overrides: Partial<ServerStatus> = {}): ServerStatus {
  return {
    fleetId: 'corp-exchange',
    fqdn: 'exch01.corp.example',
    computerName: 'EXCH01',
    phase: 'awaiting-approval',
    steps: STEPS.map((s) => ({ step: s.id, status: 'pending', changed: false, summary: '' })),
    pendingApprovals: [pending],
    decisions: [],
    refused: [],
    refusedCount: 0,
    notes: [],
    ...overrides,
  };
}

/** Every line that starts a list item follows a blank line or another item (else it runs into the paragraph). */
function assertListsStandAlone(markdown: string): void {
  const lines = markdown.split('\n');
  lines.forEach((line, i) => {
    if (!line.startsWith('- ')) return;
    const previous = lines[i - 1] ?? '';
    assert.ok(previous === '' || previous.startsWith('- '), `list item after text: ${JSON.stringify(previous)}`);
  });
}

/** Text outside code spans: where the UI would substitute quotes and fractions. */
function outsideCode(markdown: string): string {
  return markdown.replace(/(`+)[\s\S]*?\1/g, '');
}

describe('Current Details Markdown', () => {
  it('puts change texts in code spans, so quotes are not made typographic', () => {
    const details = renderServerDetails(server());
    assert.ok(details.includes("`EXCH01: TrustedHosts '' -> '*'`"), details);
    assert.doesNotMatch(outsideCode(details), /'/);
    assertListsStandAlone(details);
    assert.match(details, /Update `decideChange`/);
  });

  it('shows refused decisions with who, what, why and when, newest first, capped at three', () => {
    const refused = Array.from({ length: 10 }, (_, i) => ({
      ...forged,
      at: `2026-12-02T07:${String(10 + i)}:00.000Z`,
    }));
    const details = renderServerDetails(server({ refused, refusedCount: 14 }));
    assert.match(details, /\*\*Refused decisions: 14\*\*/);
    const items = details.split('\n').filter((l) => l.includes('via signal'));
    assert.equal(items.length, 3);
    assert.match(items[0], /^- `2026-12-02T07:19:00.000Z` `mallory` via signal: refused, `mallory is not an approver/);
    assert.match(items[0], /sent `\{"changeId":/);
    assertListsStandAlone(details);
  });

  it('caps notes and long values so the panel fits', () => {
    const notes = Array.from({ length: 12 }, (_, i) => `note ${i}`);
    const long = 'x'.repeat(500);
    const details = renderServerDetails(
      server({ notes, pendingApprovals: [{ ...pending, change: { ...change, text: long } }] })
    );
    assert.match(details, /the latest 5; 7 earlier/);
    assert.ok(!details.includes('note 6'), 'old notes are left out');
    assert.ok(details.includes('note 11'));
    assert.ok(!details.includes('x'.repeat(200)), 'a long value is cut');
    assert.ok(details.split('\n').length < 40, `${details.split('\n').length} lines`);
  });

  it('keeps a step summary with | and ` inside its table cell', () => {
    const steps = STEPS.map((s) => ({ step: s.id, status: 'changed' as const, changed: true, summary: 'a | b `c`' }));
    const details = renderServerDetails(server({ steps, pendingApprovals: [], phase: 'running' }));
    const row = details.split('\n').find((l) => l.startsWith('| ') && l.includes('a \\| b'));
    assert.ok(row, details);
    assert.equal(row.split(/(?<!\\)\|/).length, 5, `three cells: ${row}`);
    assert.ok(row.includes('`` a \\| b `c` ``'), row);
  });

  it('code spans survive backticks and blank values', () => {
    assert.equal(code('plain'), '`plain`');
    assert.equal(code('a`b'), '``a`b``');
    assert.equal(code('`x`'), '`` `x` ``');
    assert.equal(code(''), '`-`');
    assert.equal(code('a\nb'), '`a b`');
  });

  it('reads the sender of a refused message, or says it is unknown', () => {
    assert.equal(refusedSender(forged), 'mallory');
    assert.equal(refusedSender({ ...forged, received: JSON.stringify({ operator: 'eve' }) }), 'eve');
    assert.equal(refusedSender({ ...forged, received: '{"approver":"cut off' }), 'unknown sender');
  });

  it('fleet details: "4 of 6", phases as a list, waiting servers linked to their pages with their change', () => {
    const fleet: FleetStatus = {
      fleetId: 'corp-exchange',
      requestedBy: 'you',
      counts: { total: 6, started: 4, byPhase: { 'awaiting-approval': 2, running: 2, queued: 2 } },
      servers: { 'exch01.corp.example': 'awaiting-approval', 'exch02.corp.example': 'awaiting-operator' },
      inFlight: [],
      waiting: {
        'exch01.corp.example': `approval of ${change.text}`,
        'exch02.corp.example': 'an operator at Enable remoting: AccessDenied: Access is denied.',
      },
      standingDecisions: [],
      refused: [],
      refusedCount: 0,
      run: 1,
      done: false,
    };
    const details = renderFleetDetails(fleet, 'default');
    assert.match(details, /4 of 6 servers started/);
    assert.doesNotMatch(outsideCode(details), /\d\/\d/);
    assert.doesNotMatch(outsideCode(details), /'/);
    assertListsStandAlone(details);
    assert.match(details, /^- `awaiting-approval`: 2$/m);
    assert.match(details, /\*\*Waiting for a person: 2\*\*/);
    assert.ok(
      details.includes(
        "- [`exch01.corp.example`](/namespaces/default/workflows/onboard%2Fexch01.corp.example) `awaiting-approval`: `approval of EXCH01: TrustedHosts '' -> '*'`"
      ),
      details
    );
  });

  it('rotation details count servers in words and list pending approvals and refusals', () => {
    const details = renderRotationDetails(
      {
        fleetId: 'corp-exchange',
        results: { 'edge01.corp.example': { outcome: 'not-applicable' } },
        counts: { 'not-applicable': 1 },
        pendingApprovals: [pending],
        decisions: [],
        refused: [forged],
        run: 1,
        done: false,
      },
      4
    );
    assert.match(details, /1 of 4 servers checked/);
    assert.match(details, /^- `not-applicable`: 1$/m);
    assert.match(details, /`mallory` via signal/);
    assertListsStandAlone(details);
  });
});

describe('summaries in the Web UI', () => {
  it('the approval wait names the exact change', () => {
    assert.equal(
      approvalWaitSummary(change, 72 * 3_600_000),
      "Waiting for approval of EXCH01: TrustedHosts '' -> '*' (rejected if undecided within 72 hours)"
    );
  });

  it('the check and the apply after approval of a step read differently', () => {
    const check = stepActivitySummary('EXCH01', 'setTrustedHosts');
    const apply = stepActivitySummary('EXCH01', 'setTrustedHosts', change);
    assert.notEqual(check, apply);
    assert.match(check, /check and apply$/);
    assert.match(apply, /apply approved EXCH01: TrustedHosts '' -> '\*'$/);
  });

  it('rotation tells the check, the renewal and an approved apply apart', () => {
    const base = {
      fleetId: 'f',
      server: { fqdn: 'exch01.corp.example', computerName: 'EXCH01' },
      context: {},
    } as unknown as Parameters<typeof rotationActivitySummary>[0];
    const texts = [
      rotationActivitySummary({ ...base, mode: 'plan' }),
      rotationActivitySummary({ ...base, mode: 'apply' }),
      rotationActivitySummary({ ...base, mode: 'apply', approvedChange: { id: change.id, to: 'abc' } }),
    ];
    assert.equal(new Set(texts).size, 3, texts.join(' | '));
    assert.ok(texts.every((t) => t.startsWith('EXCH01: ')));
  });
});
