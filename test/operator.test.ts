/**
 * Permanent failures wait for an operator instead of failing the fleet; the failure budget stops new
 * starts; `fleet plan` predicts exactly the changes the real run makes. All on the real dev server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverWorkflowId } from '../domain/ids';
import type { FleetPlan } from '../domain/plan';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { decideKindUpdate, fleetStatusQuery, resolveStepUpdate, serverStatusQuery } from '../workflows/messages';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

describe('operator decisions, failure budget and plan', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  const serverStatus = (fqdn: string): Promise<ServerStatus> =>
    env.client.workflow.getHandle(serverWorkflowId(fqdn)).query(serverStatusQuery);

  it('a permanent failure waits for retry, skip or abort while the rest of the fleet goes on', async () => {
    const spec = testFleet(4, {
      policy: SAFE_POLICY,
      settings: { maxFailurePercent: 100, stepRetry: FAST_RETRY },
    });
    const [retried, skipped, aborted, clean] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec);
    estate.injectFault({ kind: 'error', code: 'CertNoPrivateKey', host: retried, script: 'Set-HttpsListener' });
    // Access denied: retried once only, then permanent (bad logons lock the account out).
    estate.injectFault({ kind: 'error', code: '5', host: skipped, script: 'Grant-RemoteManagement' });
    estate.injectFault({ kind: 'error', code: 'ADIdentityNotFound', host: aborted, script: 'Get-OnboardingSnapshot' });
    const cli = { TEMPORAL_TASK_QUEUE: env.taskQueue };

    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await startFleet(env, spec, 'carol');
      await waitFor(async () => {
        const phases = await Promise.all(
          [retried, skipped, aborted].map(async (f) => (await serverStatus(f).catch(() => undefined))?.phase)
        );
        return phases.every((p) => p === 'awaiting-operator');
      }, 'three servers wait for an operator');
      await waitFor(
        async () => (await handle.query(fleetStatusQuery)).servers[clean] === 'onboarded',
        'the clean server is onboarded'
      );

      const waiting = await serverStatus(retried);
      assert.equal(waiting.awaitingOperator?.step, 'ensureHttpsListener');
      assert.equal(waiting.awaitingOperator?.error.type, 'CertificateNoPrivateKey');
      assert.equal((await serverStatus(skipped)).awaitingOperator?.error.type, 'AccessDenied');
      assert.equal(
        estate.counters(skipped)['Grant-RemoteManagement']?.calls,
        2,
        'access denied must be tried exactly twice'
      );

      const shown = await runCli(['status', spec.fleetId], cli);
      assert.match(shown.stdout, /awaiting-operator/);

      const noReason = await runCli(['retry', spec.fleetId, retried, '--as', 'dave'], cli);
      assert.equal(noReason.code, 2);
      assert.match(noReason.stderr, /reason/);
      const notWaiting = await runCli(['retry', spec.fleetId, clean, '--as', 'dave', '--reason', 'try again'], cli);
      assert.equal(notWaiting.code, 1);
      assert.match(notWaiting.stderr, /not waiting for an operator/);

      estate.clearFaults();
      const retry = await runCli(
        ['retry', spec.fleetId, retried, '--as', 'dave', '--reason', 'enrolled a certificate with its key'],
        cli
      );
      assert.equal(retry.code, 0, retry.stderr);
      const skip = await runCli(
        ['skip', spec.fleetId, skipped, '--as', 'dave', '--reason', 'group managed by GPO'],
        cli
      );
      assert.equal(skip.code, 0, skip.stderr);
      const abort = await runCli(
        ['abort', spec.fleetId, aborted, '--as', 'dave', '--reason', 'server is being decommissioned'],
        cli
      );
      assert.equal(abort.code, 0, abort.stderr);

      const result: FleetStatus = await handle.result();
      assert.deepEqual(result.servers, {
        [retried]: 'onboarded',
        [skipped]: 'needs-attention',
        [aborted]: 'aborted',
        [clean]: 'onboarded',
      });
      const skippedStatus = await serverStatus(skipped);
      assert.equal(skippedStatus.steps.find((s) => s.step === 'grantRemoteManagement')?.status, 'skipped-by-operator');
      assert.ok(skippedStatus.notes.some((n) => /dave chose skip: group managed by GPO/.test(n)));
      assert.ok(
        estate.host(retried).listeners.some((l) => l.transport === 'HTTPS'),
        'the retried step was carried out'
      );
    });
  });

  it('stops starting new servers once the failure budget is spent, and says why', async () => {
    const spec = testFleet(10, { policy: SAFE_POLICY, settings: { maxParallel: 2, maxFailurePercent: 20 } });
    const estate = estateFor(spec);
    for (const server of spec.servers.slice(0, 4)) {
      estate.injectFault({ kind: 'error', code: 'CertExpired', host: server.fqdn, script: 'Set-HttpsListener' });
    }
    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await startFleet(env, spec, 'carol');
      await waitFor(
        async () => (await handle.query(fleetStatusQuery)).stoppedReason !== undefined,
        'the fleet stops starting servers'
      );
      const status = await handle.query(fleetStatusQuery);
      assert.match(
        status.stoppedReason ?? '',
        /[34] of 10 servers failed \([34]0\.0%\), more than the failure budget of 20%/
      );
      assert.ok(status.counts.started <= 5, `started ${status.counts.started}`);
      const startedBefore = status.counts.started;
      const printed = await runCli(['status', spec.fleetId], { TEMPORAL_TASK_QUEUE: env.taskQueue });
      assert.match(printed.stdout, /stopped starting new servers: [34] of 10 servers failed/);

      // Operators give up on the failed servers (one more may fail meanwhile): the fleet ends, the rest
      // never started, and it says why.
      const aborted = new Set<string>();
      await waitFor(async () => {
        const now = await handle.query(fleetStatusQuery);
        for (const [fqdn, phase] of Object.entries(now.servers)) {
          if (phase !== 'awaiting-operator' || aborted.has(fqdn)) continue;
          aborted.add(fqdn);
          await env.client.workflow.getHandle(serverWorkflowId(fqdn)).executeUpdate(resolveStepUpdate, {
            args: [{ action: 'abort', operator: 'dave', reason: 'certificate re-enrolment pending' }],
          });
        }
        return now.done;
      }, 'the fleet ends once operators have decided');
      const result: FleetStatus = await handle.result();
      assert.equal(result.done, true);
      assert.equal(result.counts.started, startedBefore);
      assert.match(result.stoppedReason ?? '', /more than the failure budget of 20%/);
      assert.equal(result.counts.byPhase['not-started'], 10 - startedBefore);
    });
  });

  it('fleet plan lists exactly the changes the real run then makes, and changes nothing', async () => {
    const spec = testFleet(3, { policy: ONE_APPROVAL_POLICY });
    const estate = estateFor(spec);
    estate.assign(spec.servers[1].fqdn, 'winrm-stopped');
    estate.assign(spec.servers[2].fqdn, 'expiring-cert');
    const file = writeFleetFile(spec);
    await withWorkers(env, new LabRunner(estate), async () => {
      for (const server of spec.servers) estate.host(server.fqdn); // hosts are created on first touch
      const before = JSON.stringify(estate.toJSON().hosts);
      const planned = await runCli(['plan', file, '--json'], { TEMPORAL_TASK_QUEUE: env.taskQueue });
      assert.equal(planned.code, 0, planned.stderr);
      assert.equal(JSON.stringify(estate.toJSON().hosts), before, 'fleet plan changed the lab');
      const plan = JSON.parse(planned.stdout) as FleetPlan;
      const text = await runCli(['plan', file], { TEMPORAL_TASK_QUEUE: env.taskQueue });
      assert.match(text.stdout, /need approval\. Nothing was changed\./);

      const handle = await startFleet(env, spec, 'carol');
      await handle.executeUpdate(decideKindUpdate, {
        args: [
          {
            kind: 'trusted-hosts-wildcard',
            servers: 'all',
            decision: 'approve',
            approver: 'bob',
            reason: 'CAB-42 approved the manual as written',
          },
        ],
      });
      await handle.result();
      for (const server of plan.servers) {
        const real = await serverStatus(server.fqdn);
        const wouldChange = server.steps
          .filter((s) => s.status === 'would-change' && s.step !== 'verifyConnectivity')
          .map((s) => s.step);
        const changed = real.steps.filter((s) => s.status === 'changed').map((s) => s.step);
        assert.deepEqual(changed, wouldChange, `${server.fqdn}: plan and run differ`);
        const approvals = server.steps.flatMap((s) => (s.change ? [s.change.id] : []));
        assert.deepEqual(
          real.decisions.map((d) => d.changeId),
          approvals
        );
      }
    });
  });
});
