import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import type { FleetStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { onboardFleet } from '../workflows';
import { fleetStatusQuery } from '../workflows/messages';
import { runCli } from './support/cli';
import { estateFor, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { waitFor } from './support/wait';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

async function serverWorkflowCount(env: TestEnv, fqdn: string): Promise<number> {
  let n = 0;
  for await (const wf of env.client.workflow.list({ query: `MonosyncServer = "${fqdn}"` }))
    if (wf.type === 'onboardServer') n++;
  return n;
}

describe('onboarding a fleet on the lab', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('runs every server through every step and the lab shows the result', async () => {
    const spec = testFleet(3, {
      policy: SAFE_POLICY,
      settings: { stepRetry: { initialInterval: '100ms', maximumInterval: '3s', maximumAttempts: 3 } },
    });
    const estate = estateFor(spec);
    const runner = new LabRunner(estate);
    const result: FleetStatus = await withWorkers(env, runner, () =>
      env.client.workflow.execute(onboardFleet, {
        workflowId: fleetWorkflowId(spec.fleetId),
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'carol' }],
      })
    );
    assert.equal(result.done, true);
    assert.deepEqual(Object.values(result.servers), ['onboarded', 'onboarded', 'onboarded']);
    for (const server of spec.servers) {
      const host = estate.host(server.fqdn);
      assert.ok(
        host.remoteManagementUsers.members.some((m) => /monosync_svc/i.test(m.account)),
        'service account is a member'
      );
      assert.ok(
        host.listeners.some((l) => l.transport === 'HTTPS'),
        'an HTTPS listener exists'
      );
      assert.ok(
        host.firewall.rules.some((r) => r.name === 'Monosync-WinRM-In'),
        'the firewall rule exists'
      );
      assert.equal(host.cbt.level, 'Relaxed');
    }
    assert.match(estate.worker.trustedHosts.value, new RegExp(spec.servers[0].fqdn.replace(/\./g, '\\.')));
    // Every step is retried as the fleet file says: from 100 ms, doubling up to 3 s, 3 attempts.
    const history = await env.client.workflow.getHandle(serverWorkflowId(spec.servers[0].fqdn)).fetchHistory();
    const policies = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.retryPolicy ?? []);
    assert.equal(policies.length, 8);
    for (const p of policies) {
      assert.deepEqual(
        [Number(p.initialInterval?.nanos) / 1e6, Number(p.maximumInterval?.seconds), p.maximumAttempts],
        [100, 3, 3]
      );
    }
  });

  it('starting the same fleet twice starts no second workflow for any server', async () => {
    // The default policy makes every server wait for approvals, so the first run is still going.
    const spec = testFleet(3);
    const file = writeFleetFile(spec);
    const estate = estateFor(spec);
    const cliEnv = { TEMPORAL_TASK_QUEUE: env.taskQueue };
    await withWorkers(env, new LabRunner(estate), async () => {
      const first = await runCli(['onboard', file, '--as', 'carol'], cliEnv);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /started fleet/);
      const handle = env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId));
      await waitFor(
        async () => (await handle.query(fleetStatusQuery)).inFlight.length === 3,
        'all three servers are in flight'
      );

      const second = await runCli(['onboard', file, '--as', 'carol'], cliEnv);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /already running: nothing new started/);

      // Another fleet naming one of the same servers finds it being onboarded and leaves it alone.
      const other = testFleet(1, { servers: [spec.servers[0].fqdn] });
      const otherRun = await env.client.workflow.execute(onboardFleet, {
        workflowId: fleetWorkflowId(other.fleetId),
        taskQueue: env.taskQueue,
        args: [{ spec: other, requestedBy: 'carol' }],
      });
      assert.equal(otherRun.servers[spec.servers[0].fqdn], 'duplicate');

      for (const server of spec.servers) assert.equal(await serverWorkflowCount(env, server.fqdn), 1, server.fqdn);
      const status = await runCli(['status', spec.fleetId], cliEnv);
      assert.equal(status.code, 0, status.stderr);
      for (const server of spec.servers) assert.match(status.stdout, new RegExp(server.fqdn.replace(/\./g, '\\.')));
      await handle.cancel();
      for (const server of spec.servers)
        await env.client.workflow
          .getHandle(serverWorkflowId(server.fqdn))
          .result()
          .catch(() => undefined);
    });
  });

  it('fleet status of an unknown fleet says so and exits 3', async () => {
    const result = await runCli(['status', 'no-such-fleet-anywhere']);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /no fleet "no-such-fleet-anywhere"/);
  });
});
