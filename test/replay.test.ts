/**
 * Determinism: histories recorded on the dev server replay against the current workflow code without
 * a non-determinism error, so a deploy of this code can pick up fleets that are in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { decideChangeSignal, serverStatusQuery } from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers, workflowSource } from './support/temporal';
import { waitFor } from './support/wait';

describe('replay', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('replays fleet and server histories with approvals, refusals and a fault', async () => {
    const spec = testFleet(2, { policy: ONE_APPROVAL_POLICY });
    const estate = estateFor(spec);
    // One transient fault, retried by Temporal, so the history holds a failed attempt too.
    estate.injectFault({
      kind: 'error',
      code: '0x80338012',
      host: spec.servers[0].fqdn,
      script: 'Enable-Remoting',
      times: 1,
    });
    await withWorkers(env, new LabRunner(estate), async () => {
      const fleet = await startFleet(env, spec, 'alice');
      for (const server of spec.servers) {
        const handle = env.client.workflow.getHandle(serverWorkflowId(server.fqdn));
        await waitFor(
          async () =>
            ((await handle.query(serverStatusQuery).catch(() => undefined))?.pendingApprovals.length ?? 0) > 0,
          `${server.fqdn} waits for approval`
        );
        const changeId = `${server.fqdn}/setTrustedHosts/trusted-hosts-wildcard`;
        await handle.signal(decideChangeSignal, {
          changeId,
          decision: 'approve',
          approver: 'mallory',
          reason: 'forged',
        });
        await handle.signal(decideChangeSignal, { changeId, decision: 'approve', approver: 'bob', reason: 'CAB-1' });
      }
      await fleet.result();
    });
    const ids = [fleetWorkflowId(spec.fleetId), ...spec.servers.map((s) => serverWorkflowId(s.fqdn))];
    const histories = await Promise.all(
      ids.map(async (workflowId) => ({
        workflowId,
        history: await env.client.workflow.getHandle(workflowId).fetchHistory(),
      }))
    );
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(workflowSource(), histories)) {
      assert.equal(result.error, undefined, `${result.workflowId} does not replay: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, 3);
  });
});
