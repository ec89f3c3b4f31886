/**
 * Four-eyes approvals of risky changes on one server, end to end on the real dev server and the lab:
 * the decideChange update (validated, refused at once) and signal (checked inside, refusals recorded),
 * rejection and timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { DecisionInput } from '../domain/approvals';
import type { FleetSpec } from '../domain/fleet';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import type { FleetStatus, ServerStatus } from '../domain/status';
import type { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { onboardServer } from '../workflows';
import {
  decideChangeSignal,
  standingDecisionSignal,
  decideChangeUpdate,
  serverStatusQuery,
} from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { expectRefused, waitForPending, waitForStatus } from './support/server-status';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';

/** Two risky steps: setCbtHardening (None) first, then setTrustedHosts. */
const TWO_RISK_POLICY = { ...ONE_APPROVAL_POLICY, cbtHardeningLevel: 'None' };

interface Run {
  spec: FleetSpec;
  estate: LabEstate;
  fqdn: string;
  trustedHostsChange: string;
  server: WorkflowHandle<typeof onboardServer>;
}

describe('approving risky changes on one server', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  /** Starts a one-server fleet requested by `requestedBy`, runs `fn` while it runs, returns both results. */
  async function withFleet(
    options: { requestedBy: string; policy?: Record<string, unknown>; settings?: Record<string, unknown> },
    fn: (run: Run) => Promise<void>
  ): Promise<{ run: Run; fleet: FleetStatus; result: ServerStatus }> {
    const spec = testFleet(1, {
      policy: options.policy ?? ONE_APPROVAL_POLICY,
      settings: { stepRetry: FAST_RETRY, ...options.settings },
    });
    const estate = estateFor(spec);
    const fqdn = spec.servers[0].fqdn;
    const run: Run = {
      spec,
      estate,
      fqdn,
      trustedHostsChange: changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard'),
      server: env.client.workflow.getHandle<typeof onboardServer>(serverWorkflowId(fqdn)),
    };
    return withWorkers(env, new LabRunner(estate), async () => {
      const fleetHandle = await startFleet(env, spec, options.requestedBy);
      try {
        await fn(run);
      } catch (err) {
        await fleetHandle.cancel().catch(() => undefined);
        await run.server.cancel().catch(() => undefined);
        throw err;
      }
      const fleet = await fleetHandle.result();
      const result = await run.server.result();
      return { run, fleet, result };
    });
  }

  it('an approver other than the requester approves by update: the change is applied and recorded', async () => {
    const { run, fleet, result } = await withFleet({ requestedBy: 'carol' }, async (run) => {
      const waiting = await waitForPending(run.server, run.trustedHostsChange);
      assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '', 'nothing changes before the decision');
      const step = waiting.steps.find((r) => r.step === 'setTrustedHosts');
      assert.equal(step?.status, 'approval-required', 'the step table says what the step waits on');
      assert.match(step?.summary ?? '', /^waiting for approval: .*TrustedHosts '' -> '\*'/);
      const recorded = await run.server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: run.trustedHostsChange, decision: 'approve', approver: 'bob', reason: 'CAB-1234' }],
      });
      assert.equal(recorded.via, 'update');
      assert.equal(recorded.approver, 'bob');
    });
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '*');
    assert.equal(result.phase, 'onboarded', result.notes.join('; '));
    assert.equal(fleet.servers[run.fqdn], 'onboarded');
    assert.equal(result.decisions.length, 1);
    const [decision] = result.decisions;
    assert.equal(decision.changeId, run.trustedHostsChange);
    assert.equal(decision.decision, 'approve');
    assert.equal(decision.approver, 'bob');
    assert.equal(decision.reason, 'CAB-1234');
    assert.equal(decision.via, 'update');
    assert.ok(!Number.isNaN(Date.parse(decision.at)), `at is an ISO time: ${decision.at}`);
    assert.deepEqual(result.pendingApprovals, []);
    assert.deepEqual(result.refused, []);
    const step = stepOf(result, 'setTrustedHosts');
    assert.equal(step.status, 'changed');
    assert.equal(step.changed, true);
    assert.equal(step.change?.id, run.trustedHostsChange);
    assert.equal(step.change?.to, '*');
    assert.match(step.summary, /TrustedHosts '' -> '\*'/);
    assert.deepEqual(step.decision, decision);
  });

  it('refuses self-approval, people not on the list, unknown changes and malformed updates; nothing changes', async () => {
    const { run, result } = await withFleet({ requestedBy: 'alice' }, async (run) => {
      await waitForPending(run.server, run.trustedHostsChange);
      const decide = (input: Record<string, unknown>) =>
        run.server.executeUpdate(decideChangeUpdate, { args: [input as unknown as DecisionInput] });
      const valid = { changeId: run.trustedHostsChange, decision: 'approve', approver: 'bob', reason: 'CAB-1234' };

      await expectRefused(
        decide({ ...valid, approver: 'alice' }),
        'DecisionRefused',
        /alice started this run.*four eyes/
      );
      // Normalised before the check: the requester cannot slip through with another spelling.
      await expectRefused(decide({ ...valid, approver: ' Alice ' }), 'DecisionRefused', /four eyes/);
      await expectRefused(decide({ ...valid, approver: 'mallory' }), 'DecisionRefused', /mallory is not an approver/);
      await expectRefused(
        decide({ ...valid, changeId: `${run.fqdn}/setCbtHardening/cbt-none` }),
        'DecisionRefused',
        /no pending change .*setCbtHardening\/cbt-none/
      );
      const { reason: _omitted, ...noReason } = valid;
      await expectRefused(decide(noReason), 'InvalidDecision', /reason/);
      await expectRefused(decide({ ...valid, extra: 'x' }), 'InvalidDecision', /extra/);
      await expectRefused(decide({ ...valid, decision: 'maybe' }), 'InvalidDecision', /decision/);

      const status = await run.server.query(serverStatusQuery);
      assert.equal(status.phase, 'awaiting-approval');
      assert.deepEqual(status.decisions, []);
      assert.deepEqual(
        status.pendingApprovals.map((p) => p.change.id),
        [run.trustedHostsChange]
      );
      assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '', 'refused decisions change nothing');
      // Refused updates never reach the history, so they leave nothing under `refused` either.
      assert.deepEqual(status.refused, []);

      await run.server.executeUpdate(decideChangeUpdate, { args: [valid as DecisionInput] });
    });
    assert.equal(result.decisions.length, 1);
    assert.equal(result.decisions[0].approver, 'bob');
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '*');
  });

  it('records the decision as validated: approver and reason normalised, as the signal path does', async () => {
    const { result } = await withFleet({ requestedBy: 'carol' }, async (run) => {
      await waitForPending(run.server, run.trustedHostsChange);
      const recorded = await run.server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: run.trustedHostsChange, decision: 'approve', approver: ' BOB ', reason: '  CAB-1234  ' }],
      });
      assert.equal(recorded.approver, 'bob');
      assert.equal(recorded.reason, 'CAB-1234');
    });
    assert.deepEqual(
      result.decisions.map((d) => [d.approver, d.reason]),
      [['bob', 'CAB-1234']]
    );
  });

  it('refuses a second decision on a change that has already been decided', async () => {
    const { run, result } = await withFleet({ requestedBy: 'carol', policy: TWO_RISK_POLICY }, async (run) => {
      const cbtChange = changeId(run.fqdn, 'setCbtHardening', 'cbt-none');
      await waitForPending(run.server, cbtChange);
      await run.server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: cbtChange, decision: 'approve', approver: 'bob', reason: 'CAB-1' }],
      });
      // The server now waits on its next risky change, so it is still running when the repeat arrives.
      await waitForPending(run.server, run.trustedHostsChange);
      for (const decision of ['approve', 'reject'] as const) {
        await expectRefused(
          run.server.executeUpdate(decideChangeUpdate, {
            args: [{ changeId: cbtChange, decision, approver: 'alice', reason: 'CAB-2' }],
          }),
          'DecisionRefused',
          /has already been decided/
        );
      }
      await run.server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: run.trustedHostsChange, decision: 'approve', approver: 'alice', reason: 'CAB-3' }],
      });
    });
    assert.deepEqual(
      result.decisions.map((d) => [d.changeId, d.decision, d.approver, d.reason]),
      [
        [changeId(run.fqdn, 'setCbtHardening', 'cbt-none'), 'approve', 'bob', 'CAB-1'],
        [run.trustedHostsChange, 'approve', 'alice', 'CAB-3'],
      ]
    );
    assert.equal(run.estate.host(run.fqdn).cbt.level, 'None');
  });

  it('a rejected change is skipped, the later steps still run and the server needs attention', async () => {
    const { run, fleet, result } = await withFleet({ requestedBy: 'carol' }, async (run) => {
      await waitForPending(run.server, run.trustedHostsChange);
      await run.server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: run.trustedHostsChange, decision: 'reject', approver: 'bob', reason: 'use Kerberos' }],
      });
    });
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '', 'the lab TrustedHosts is unchanged');
    assert.equal(result.phase, 'needs-attention');
    assert.equal(fleet.servers[run.fqdn], 'needs-attention');
    const step = stepOf(result, 'setTrustedHosts');
    assert.equal(step.status, 'rejected');
    assert.equal(step.changed, false);
    assert.equal(step.change?.id, run.trustedHostsChange);
    assert.equal(step.decision?.decision, 'reject');
    assert.match(step.summary, /rejected by bob \(use Kerberos\)/);
    assert.ok(
      result.notes.some((n) => /setTrustedHosts: .*rejected by bob.*safer:/.test(n)),
      result.notes.join('\n')
    );
    assert.equal(result.decisions[0].via, 'update');
    const verify = stepOf(result, 'verifyConnectivity');
    assert.ok(['changed', 'compliant'].includes(verify.status), `verifyConnectivity ran: ${verify.status}`);
  });

  it('no decision within the approval timeout is recorded as a rejection by the system', async () => {
    const { run, fleet, result } = await withFleet(
      { requestedBy: 'carol', settings: { approvalTimeout: '2s' } },
      async () => undefined
    );
    assert.equal(result.phase, 'needs-attention');
    assert.equal(fleet.servers[run.fqdn], 'needs-attention');
    assert.equal(result.decisions.length, 1);
    const [decision] = result.decisions;
    assert.equal(decision.changeId, run.trustedHostsChange);
    assert.equal(decision.decision, 'reject');
    assert.equal(decision.approver, 'system');
    assert.equal(decision.via, 'timeout');
    assert.deepEqual(result.pendingApprovals, []);
    assert.equal(stepOf(result, 'setTrustedHosts').status, 'rejected');
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '');
    assert.notEqual(stepOf(result, 'verifyConnectivity').status, 'pending');
  });

  it('an approval sent as a signal (e.g. from the Web UI) is checked and applied', async () => {
    const { run, result } = await withFleet({ requestedBy: 'carol' }, async (run) => {
      await waitForPending(run.server, run.trustedHostsChange);
      await run.server.signal(decideChangeSignal, {
        changeId: run.trustedHostsChange,
        decision: 'approve',
        approver: 'alice',
        reason: 'CAB-77',
      });
    });
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '*');
    assert.equal(result.phase, 'onboarded', result.notes.join('; '));
    assert.equal(result.decisions.length, 1);
    assert.equal(result.decisions[0].via, 'signal');
    assert.equal(result.decisions[0].approver, 'alice');
    assert.deepEqual(result.refused, []);
    assert.equal(stepOf(result, 'setTrustedHosts').status, 'changed');
  });

  it('a forged or rule-breaking signal is recorded as refused and never applied', async () => {
    const { run, result } = await withFleet({ requestedBy: 'alice' }, async (run) => {
      await waitForPending(run.server, run.trustedHostsChange);
      const forged = { changeId: run.trustedHostsChange, decision: 'approve', approver: 'mallory', reason: 'trust me' };
      await run.server.signal(decideChangeSignal, forged as DecisionInput);
      await run.server.signal(decideChangeSignal, { ...forged, approver: 'alice' } as DecisionInput);
      await run.server.signal(decideChangeSignal, { changeId: run.trustedHostsChange } as unknown as DecisionInput);
      const status = await waitForStatus(run.server, (s) => s.refused.length >= 3);
      assert.deepEqual(
        status.refused.map((r) => r.via),
        ['signal', 'signal', 'signal']
      );
      assert.match(status.refused[0].refusal, /mallory is not an approver/);
      assert.match(status.refused[0].received, /mallory/);
      assert.match(status.refused[1].refusal, /alice started this run.*four eyes/);
      assert.match(status.refused[2].refusal, /malformed message: .*decision/);
      assert.match(status.refused[2].refusal, /reason/);
      assert.equal(status.phase, 'awaiting-approval', 'still waiting for a valid decision');
      assert.deepEqual(status.decisions, []);
      assert.deepEqual(
        status.pendingApprovals.map((p) => p.change.id),
        [run.trustedHostsChange]
      );
      assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '', 'never applied');
      // The fleet-level path, sent straight to the server (e.g. from the Web UI), obeys the same rules.
      const standing = {
        kind: 'trusted-hosts-wildcard',
        servers: 'all',
        decision: 'approve',
        reason: 'mine',
        at: new Date().toISOString(),
      } as const;
      await run.server.signal(standingDecisionSignal, { ...standing, approver: 'alice' });
      await run.server.signal(standingDecisionSignal, { ...standing, approver: 'mallory' });
      const afterStanding = await waitForStatus(run.server, (s) => s.refused.length >= 5);
      assert.deepEqual(
        afterStanding.refused.slice(3).map((r) => r.via),
        ['fleet', 'fleet']
      );
      assert.match(afterStanding.refused[3].refusal, /alice started this run/);
      assert.match(afterStanding.refused[4].refusal, /mallory is not an approver/);
      assert.deepEqual(afterStanding.decisions, [], 'a refused fleet decision decides nothing');
      assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '', 'never applied');
      await run.server.signal(decideChangeSignal, { ...forged, approver: 'bob', reason: 'CAB-5' } as DecisionInput);
    });
    assert.equal(result.refused.length, 5);
    assert.deepEqual(
      result.decisions.map((d) => [d.approver, d.via]),
      [['bob', 'signal']]
    );
    assert.equal(run.estate.host(run.fqdn).trustedHosts.value, '*');
  });
});

function stepOf(status: ServerStatus, step: string) {
  const rec = status.steps.find((s) => s.step === step);
  assert.ok(rec, `step ${step} is in the status`);
  return rec;
}
