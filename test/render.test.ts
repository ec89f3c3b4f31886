/**
 * Current Details as the Web UI 2.42 renders them: values in code spans (no curly quotes or fraction
 * glyphs), lists after a blank line, capped lengths, refusals with who, what, why and when, an empty
 * last paragraph for the UI's cut, and short enough to fit a 1600x1200 window even in the worst case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PendingApproval, RefusedDecision } from '../domain/approvals';
import type { PlannedChange } from '../domain/risk';
import { SERVER_PHASES, type FleetStatus, type ServerStatus } from '../domain/status';
import { STEPS } from '../domain/steps';
import { stepActivitySummary } from '../workflows/onboard-server';
import { approvalWaitSummary } from '../workflows/approval-gate';
import { rotationActivitySummary } from '../workflows/rotate-certificates';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import {
  code,
  prose,
  refusedSender,
  renderFleetDetails,
  renderFleetStaticDetails,
  renderRotationDetails,
  renderServerDetails,
  renderServerStaticDetails,
  UI_CUT_SPACER,
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

/** A valid fleet spec: a lab fleet of alice and bob, with `overrides` merged into the file. */
function fleetSpec(overrides: Record<string, unknown>): FleetSpec {
  const result = validateFleet({
    fleet: 'corp-exchange',
    serviceAccount: 'CORP\\monosync_svc',
    monosyncServers: ['10.20.30.41'],
    approvers: ['alice', 'bob'],
    approvals: 'unsigned',
    servers: ['exch01.corp.example'],
    ...overrides,
  });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.spec;
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

/** Characters a line of Current Details holds at 1600x1200 (a 740 px column), as a lower bound. */
const CHARS_PER_LINE = 80;
/**
 * Lines of text the UI shows for `markdown`: every paragraph, list item and table row takes at least
 * one line, a long one as many as its visible characters need (link targets and backticks are not
 * shown), and the space between blocks counts as one line.
 */
function renderedLines(markdown: string): number {
  const blocks = markdown.split(/\n\n+/).filter((b) => b.trim() !== '');
  const lines = blocks.flatMap((block) => block.split('\n').filter((l) => !/^\|[-|]+\|$/.test(l)));
  const text = lines.reduce((sum, line) => {
    const visible = line.replace(/\]\([^)]*\)/g, ']').replace(/`/g, '');
    return sum + Math.max(1, Math.ceil(visible.length / CHARS_PER_LINE));
  }, 0);
  return text + blocks.length - 1;
}
/**
 * Lines that fit below the workflow's header at 1600x1200 (the frame starts 386 px down, about 20 px a
 * line). Measured in Chromium, the worst cases below take about 710 px; the browser test checks real pages.
 */
const FITTING_LINES = 40;

/** The worst server page: waiting for an operator, ten refusals, every step with a long summary, many notes. */
function worstServer(): ServerStatus {
  const refused = Array.from({ length: 10 }, (_, i) => ({ ...forged, at: `2026-12-02T07:1${i}:00.000Z` }));
  const longText = `${change.text}: rejected by bob (${'CAB-1234 not approved by the change board '.repeat(4)})`;
  return server({
    phase: 'awaiting-operator',
    pendingApprovals: [],
    awaitingOperator: {
      step: 'enableRemoting',
      error: { type: 'AccessDenied', message: 'Access is denied. '.repeat(20) },
    },
    steps: STEPS.map((s) => ({ step: s.id, status: 'rejected', changed: false, summary: longText })),
    refused,
    refusedCount: 14,
    notes: Array.from({ length: 12 }, () => longText),
  });
}

describe('Current Details Markdown', () => {
  it('puts change texts in code spans, so quotes are not made typographic', () => {
    const details = renderServerDetails(server());
    assert.ok(details.includes("`EXCH01: TrustedHosts '' -> '*'`"), details);
    assert.doesNotMatch(outsideCode(details), /'/);
    assertListsStandAlone(details);
    assert.match(details, /Update `decideChange`/);
    // The input to paste in the UI's dialog names this change.
    assert.ok(details.includes(`{"changeId": "${change.id}", "decision": "approve"`), details);
    assert.match(details, /rejected if undecided by `2026-12-05 07:00Z`/);
  });

  it('ends every text with an empty paragraph, where the UI cuts the frame off', () => {
    const texts = [
      renderServerDetails(server()),
      renderServerStaticDetails('f', 'exch01.corp.example', 'EXCH01'),
      renderFleetStaticDetails(fleetSpec({}), 'carol'),
      renderRotationDetails(
        {
          fleetId: 'f',
          results: {},
          counts: {},
          pendingApprovals: [],
          decisions: [],
          refused: [],
          run: 1,
          done: false,
        },
        1
      ),
    ];
    for (const text of texts) {
      assert.ok(text.endsWith(`\n\n${UI_CUT_SPACER}`), JSON.stringify(text.slice(-40)));
      assert.equal(text.split(UI_CUT_SPACER).length, 2, 'one spacer only');
    }
  });

  it('fits a 1600x1200 window in the worst case, and the line count says when it would not', () => {
    const details = renderServerDetails(worstServer());
    assert.ok(renderedLines(details) <= FITTING_LINES, `${renderedLines(details)} lines:\n${details}`);
    assertListsStandAlone(details);
    assert.doesNotMatch(outsideCode(details), /'/);
    // The bound is not vacuous: the same page with the old, uncapped lists would not fit.
    const uncapped = [details, ...worstServer().notes.map((n) => `- ${n}`)].join('\n');
    assert.ok(renderedLines(uncapped) > FITTING_LINES, `${renderedLines(uncapped)} lines`);

    // The worst fleet: every phase, many servers waiting, stopped, refused messages.
    const waiting = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `exch${i}.corp.example`,
        `approval of EXCH${i}: ${'TrustedHosts x '.repeat(8)}`,
      ])
    );
    const fleet = renderFleetDetails(
      {
        fleetId: 'corp-exchange',
        requestedBy: 'carol',
        counts: {
          total: 500,
          started: 120,
          byPhase: Object.fromEntries(SERVER_PHASES.map((p, i) => [p, i * 7])),
        },
        servers: {},
        inFlight: [],
        waiting,
        standingDecisions: [],
        refused: [],
        refusedCount: 3,
        stoppedReason: 'more than 20% of the servers failed: no new servers are started',
        run: 9,
        done: false,
      },
      'default'
    );
    assert.ok(renderedLines(fleet) <= FITTING_LINES, `${renderedLines(fleet)} lines:\n${fleet}`);
    assert.match(fleet, /- and 35 more/);
  });

  it('shows refused decisions with who, what, why and when, newest first, capped at three', () => {
    const refused = Array.from({ length: 10 }, (_, i) => ({
      ...forged,
      at: `2026-12-02T07:${String(10 + i)}:00.000Z`,
    }));
    const details = renderServerDetails(server({ refused, refusedCount: 14 }));
    assert.match(details, /\*\*Refused decisions: 14\*\*/);
    const items = details.split('\n').filter((l) => l.includes('by signal'));
    assert.equal(items.length, 3);
    // On the server's own page the change id goes without the server's FQDN.
    assert.match(
      items[0],
      /^- `2026-12-02 07:19Z` `mallory` by signal: `approve setTrustedHosts\/trusted-hosts-wildcard` refused, `mallory is not an approver/
    );
    assertListsStandAlone(details);
  });

  it('caps notes and long values so the panel fits', () => {
    const notes = Array.from({ length: 12 }, (_, i) => `note ${i}`);
    const long = 'x'.repeat(500);
    const details = renderServerDetails(
      server({ notes, pendingApprovals: [{ ...pending, change: { ...change, text: long } }] })
    );
    assert.match(details, /the latest 2; 10 earlier/);
    assert.ok(!details.includes('note 9'), 'old notes are left out');
    assert.ok(details.includes('note 10') && details.includes('note 11'));
    assert.ok(!details.includes('x'.repeat(200)), 'a long value is cut');
    assert.ok(renderedLines(details) <= FITTING_LINES, `${renderedLines(details)} lines`);
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

  it('fleet details: "4 of 6", phases counted on one line, waiting servers linked to their pages with their change', () => {
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
    assert.match(details, /By phase: `awaiting-approval` 2, `running` 2, `queued` 2/);
    assert.match(details, /\*\*Waiting for a person: 2\*\*/);
    assert.ok(
      details.includes(
        "- [`exch01.corp.example`](/namespaces/default/workflows/onboard%2Fexch01.corp.example) approval of `EXCH01: TrustedHosts '' -> '*'`"
      ),
      details
    );
    assert.ok(
      details.includes('an operator at `Enable remoting: AccessDenied: Access is denied.`'),
      'an operator wait reads so too'
    );
    // A link to the UI's list of every waiting server: a Markdown link target without spaces or parentheses.
    const all = /\[all of them\]\(([^)\s]+)\)/.exec(details);
    assert.ok(all, details);
    assert.equal(
      decodeURIComponent(new URL(all[1], 'http://ui').searchParams.get('query') ?? ''),
      'MonosyncFleet = "corp-exchange" AND MonosyncPhase IN ("awaiting-approval", "awaiting-operator") AND ExecutionStatus = "Running"'
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
    assert.match(details, /By outcome: `not-applicable` 1/);
    assert.match(details, /^- `edge01\.corp\.example` `not-applicable`$/m);
    // Rotation refusals name the whole change id: they may be about any server of the fleet.
    assert.match(details, /`mallory` by signal: `approve exch01\.corp\.example\/setTrustedHosts\//);
    assertListsStandAlone(details);
  });

  it('rotation details list the servers that need a look first, capped, with short thumbprints', () => {
    const results = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `exch${String(i).padStart(2, '0')}.corp.example`,
        i === 29
          ? { outcome: 'failed' as const, message: 'WinRMUnavailable: the client cannot connect' }
          : {
              outcome: 'rotated' as const,
              from: 'A'.repeat(40),
              to: 'B'.repeat(40),
              notAfter: '2027-12-01T00:00:00.000Z',
            },
      ])
    );
    const pendingApprovals = Array.from({ length: 8 }, () => pending);
    const refused = Array.from({ length: 10 }, () => forged);
    const details = renderRotationDetails(
      {
        fleetId: 'f',
        results,
        counts: { rotated: 29, failed: 1 },
        pendingApprovals,
        decisions: [],
        refused,
        run: 2,
        done: true,
      },
      30
    );
    const items = details.split('\n').filter((l) => l.startsWith('- '));
    assert.match(items[0], /^- `exch29\.corp\.example` `failed`: `WinRMUnavailable/);
    assert.match(
      details,
      /`exch00\.corp\.example` `rotated`: `AAAAAAAA\.\.\. -> BBBBBBBB\.\.\.`, valid until `2027-12-01 00:00Z`/
    );
    assert.ok(!details.includes('A'.repeat(9)), 'thumbprints are shortened');
    assert.match(details, /- and 26 more/);
    assert.match(details, /\*\*Waiting for approval: 8\*\*/);
    assert.match(details, /- and 5 more/);
    assert.ok(renderedLines(details) <= FITTING_LINES, `${renderedLines(details)} lines:\n${details}`);
    assertListsStandAlone(details);
  });

  it('prose keeps its meaning: no fraction glyphs, dashes or ellipses from the UI', () => {
    assert.equal(prose('4/6 done -- wait... (c)'), '4\u2060/6 done \\-- wait\\.\\.. \\(c\\)');
    assert.equal(prose('a/b 1.5'), 'a/b 1.5');
  });

  it('the fleet static details say what the fleet is: servers, policy, approvals, requester', () => {
    const spec = fleetSpec({
      description: 'Wave 1/2 -- DAG',
      policy: {
        delegation: 'unconstrained',
        cbtHardeningLevel: 'None',
        trustedHosts: { applyOn: 'exchange', value: 'any' },
      },
      settings: { maxParallel: 4 },
      servers: Array.from({ length: 6 }, (_, i) => `exch0${i + 1}.corp.example`),
    });
    const details = renderFleetStaticDetails(spec, 'carol');
    assert.match(
      details,
      /^Onboards 6 servers, at most 4 at once; requested by `carol`\. Approvers `alice`, `bob`; approvals: unsigned/
    );
    assert.match(details, /the requester is self-asserted/);
    assert.match(details, /delegation `unconstrained`, CbtHardeningLevel `None`, TrustedHosts `any` on `exchange`/);
    assert.match(details, /Wave 1\u2060\/2 \\-- DAG/);
    assert.doesNotMatch(outsideCode(details), /\d\/\d|'/);
    assert.ok(renderedLines(details) <= 8, `${renderedLines(details)} lines`);
    const signed = renderFleetStaticDetails({ ...spec, approvals: 'signed' }, 'carol');
    assert.match(signed, /requested by `carol` \(signed request\)\. Approvers `alice`, `bob`, signed decisions\./);
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
