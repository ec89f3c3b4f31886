/**
 * What an operator sees in the Web UI, read the way the UI reads it (Current Details through the
 * metadata query, summaries from the history's user metadata, search attributes from visibility):
 * the fleet knows which servers wait for approval and on what, a forged signal shows as refused and
 * is findable, the approval wait and the check/apply activities carry their own summaries, every
 * signal, update and query says what it is for (internal ones that they are internal), the details stay
 * compact, and a rotation run is tagged with its fleet and reports an Edge server as not applicable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { DecisionInput } from '../domain/approvals';
import { rotationWorkflowId, serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import { FleetKey, RefusedKey } from '../domain/search-attributes';
import { LabRunner } from '../lab/lab-runner';
import { rotateCertificates } from '../workflows';
import { decideChangeSignal, decideChangeUpdate, fleetStatusQuery } from '../workflows/messages';
import { UI_CUT_SPACER } from '../workflows/render';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { waitForPending, waitForStatus } from './support/server-status';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface HandlerDefinition {
  name?: string | null;
  description?: string | null;
}
interface WorkflowMetadata {
  currentDetails?: string;
  definition?: {
    signalDefinitions?: HandlerDefinition[];
    updateDefinitions?: HandlerDefinition[];
    queryDefinitions?: HandlerDefinition[];
  };
}

/** What the Web UI reads of a running workflow: the SDK's built-in metadata query. */
function metadataOf(handle: WorkflowHandle): Promise<WorkflowMetadata> {
  return handle.query<WorkflowMetadata>('__temporal_workflow_metadata');
}

/** The Current Details the Web UI shows. */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  return (await metadataOf(handle)).currentDetails ?? '';
}

/** The Markdown lines the details may take: they must fit the UI's panel (test/render.test.ts has the worst cases). */
const MAX_DETAILS_LINES = 40;

/** Fails unless the details end with the empty paragraph that takes the UI's cut, and stay within the bound. */
function assertCompact(details: string): void {
  assert.ok(details.endsWith(`\n\n${UI_CUT_SPACER}`), JSON.stringify(details.slice(-40)));
  assert.ok(details.split('\n').length <= MAX_DETAILS_LINES, `${details.split('\n').length} lines:\n${details}`);
}

/**
 * The workflow's own signals, updates and queries (not the SDK's `__` ones) as the UI lists them: by
 * kind and name, with their descriptions.
 */
async function declaredHandlers(handle: WorkflowHandle): Promise<Map<string, string>> {
  const { definition } = await metadataOf(handle);
  const kinds = {
    signal: definition?.signalDefinitions,
    update: definition?.updateDefinitions,
    query: definition?.queryDefinitions,
  };
  const out = new Map<string, string>();
  for (const [kind, handlers] of Object.entries(kinds)) {
    for (const h of handlers ?? []) {
      if (h.name && !h.name.startsWith('__')) out.set(`${kind} ${h.name}`, h.description ?? '');
    }
  }
  return out;
}

/** The summary the Web UI shows next to an event (its user metadata). */
function summaryOf(event: HistoryEvent): string | undefined {
  const payload = event.userMetadata?.summary;
  return payload ? defaultPayloadConverter.fromPayload<string>(payload as Payload) : undefined;
}

async function historyEvents(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

describe('what the Web UI shows', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('fleet lists servers waiting for approval; a forged signal is refused visibly; waits and applies are named', async () => {
    const spec = testFleet(2, { policy: ONE_APPROVAL_POLICY });
    const estate = estateFor(spec);
    const [first, second] = spec.servers.map((s) => s.fqdn);
    const change = (fqdn: string) => changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server = (fqdn: string) => env.client.workflow.getHandle(serverWorkflowId(fqdn));
    await withWorkers(env, new LabRunner(estate), async () => {
      const fleet = await startFleet(env, spec, 'carol');
      try {
        for (const fqdn of [first, second]) await waitForPending(server(fqdn), change(fqdn));

        // The fleet heard that both wait, and on what.
        const status = await waitFor(async () => {
          const s = await fleet.query(fleetStatusQuery);
          return Object.keys(s.waiting ?? {}).length === 2 ? s : undefined;
        }, 'the fleet knows both servers wait for approval');
        assert.equal(status.counts.byPhase['awaiting-approval'], 2);
        assert.equal(status.servers[first], 'awaiting-approval');
        assert.match(status.waiting?.[first] ?? '', /^approval of .*TrustedHosts '' -> '\*'/);
        // `fleet status` lists them too, with links to the fleet's page and the filtered list of waiting servers.
        const cliStatus = await runCli(['status', spec.fleetId], { TEMPORAL_TASK_QUEUE: env.taskQueue });
        assert.equal(cliStatus.code, 0, cliStatus.stderr);
        assert.match(cliStatus.stdout, new RegExp(`waiting: ${first.replace(/\./g, '\\.')}: approval of `));
        assert.match(cliStatus.stdout, /fleet: {3}http\S+\/workflows\/fleet%2F/);
        assert.match(cliStatus.stdout, /waiting: http\S+MonosyncPhase%20IN%20/);
        const fleetDetails = await currentDetails(fleet);
        assert.match(fleetDetails, /\*\*Waiting for a person: 2\*\*/);
        assert.ok(
          fleetDetails.includes(`(/namespaces/default/workflows/${encodeURIComponent(serverWorkflowId(first))})`)
        );
        assertCompact(fleetDetails);

        // Every signal, update and query says what it is for in the UI's lists; internal ones say so.
        const serverHandlers = await declaredHandlers(server(first));
        const fleetHandlers = await declaredHandlers(fleet);
        for (const [handler, description] of [...serverHandlers, ...fleetHandlers]) {
          assert.ok(description.length >= 20, `${handler} has no description`);
        }
        assert.deepEqual(
          [
            'signal decideChange',
            'update decideChange',
            'signal resolveStep',
            'update resolveStep',
            'query status',
          ].filter((h) => !serverHandlers.has(h)),
          [],
          `the server declares ${[...serverHandlers.keys()].join(', ')}`
        );
        assert.match(
          serverHandlers.get('signal standingDecision') ?? '',
          /^internal: sent by the fleet workflow, do not send by hand/
        );
        assert.match(serverHandlers.get('update decideChange') ?? '', /refused at once/);
        assert.match(
          fleetHandlers.get('signal serverPhase') ?? '',
          /^internal: sent by the server workflows, do not send by hand/
        );
        assert.ok(fleetHandlers.has('update decideKind') && fleetHandlers.has('query status'));

        // A forged approval by signal: refused, shown in the details, counted in the search attribute.
        const forged = { changeId: change(first), decision: 'approve', approver: 'mallory', reason: 'trust me' };
        await server(first).signal(decideChangeSignal, forged as DecisionInput);
        await waitForStatus(server(first), (s) => s.refusedCount === 1);
        const details = await currentDetails(server(first));
        assert.match(details, /\*\*Refused decisions: 1\*\*/);
        assert.match(
          details,
          /`mallory` by signal: `approve setTrustedHosts\/trusted-hosts-wildcard` refused, `mallory is not an approver/
        );
        assertCompact(details);
        assert.equal((await server(first).describe()).typedSearchAttributes.get(RefusedKey), 1);
        const found = await waitFor(async () => {
          const ids: string[] = [];
          const query = `MonosyncFleet = "${spec.fleetId}" AND MonosyncRefusedDecisions > 0`;
          for await (const wf of env.client.workflow.list({ query })) ids.push(wf.workflowId);
          return ids.length > 0 ? ids : undefined;
        }, 'visibility finds the server that refused a decision');
        assert.deepEqual(found, [serverWorkflowId(first)]);

        for (const fqdn of [first, second]) {
          await server(fqdn).executeUpdate(decideChangeUpdate, {
            args: [{ changeId: change(fqdn), decision: 'approve', approver: 'bob', reason: 'CAB-1' }],
          });
        }
        const result = await fleet.result();
        assert.deepEqual(result.waiting, {});
        assert.equal(result.servers[first], 'onboarded');
      } catch (err) {
        await fleet.cancel().catch(() => undefined);
        throw err;
      }
    });

    const events = await historyEvents(server(first));
    const timers = events.filter((e) => e.timerStartedEventAttributes).map(summaryOf);
    assert.ok(
      timers.some((t) =>
        /^Waiting for approval of .*TrustedHosts '' -> '\*' \(rejected if undecided within/.test(t ?? '')
      ),
      `timer summaries: ${JSON.stringify(timers)}`
    );
    const trustedHosts = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setTrustedHosts')
      .map(summaryOf);
    assert.equal(trustedHosts.length, 2, JSON.stringify(trustedHosts));
    assert.match(trustedHosts[0] ?? '', /: check and apply$/);
    assert.match(trustedHosts[1] ?? '', /: apply approved .*TrustedHosts '' -> '\*'$/);
  });

  it('a rotation run carries its fleet, names its activities and calls an Edge server not applicable', async () => {
    const spec = testFleet(2);
    const [expiring, edge] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, { [expiring]: 'expiring-cert', [edge]: 'edge' });
    const handle = await withWorkers(env, new LabRunner(estate), async () => {
      const run = await env.client.workflow.start(rotateCertificates, {
        workflowId: `${rotationWorkflowId(spec.fleetId)}/ui`,
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'carol' }],
      });
      await run.result();
      // Read while a worker runs: a closed workflow's query is answered by replaying it.
      const details = await currentDetails(run);
      assert.match(details, /2 of 2 servers checked, done/);
      assertCompact(details);
      return run;
    });
    const report = await handle.result();
    assert.equal(report.results[expiring].outcome, 'rotated');
    assert.equal(report.results[edge].outcome, 'not-applicable', JSON.stringify(report.results[edge]));
    assert.match(report.results[edge].message ?? '', /Edge Transport/);
    assert.equal((await handle.describe()).typedSearchAttributes.get(FleetKey), spec.fleetId);
    const summaries = (await historyEvents(handle))
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map(summaryOf);
    assert.ok(
      summaries.every((s) => s !== undefined && s !== ''),
      JSON.stringify(summaries)
    );
    assert.ok(summaries.some((s) => /check the listener certificate$/.test(s ?? '')));
    assert.ok(summaries.some((s) => /renew the listener certificate$/.test(s ?? '')));
  });
});
