/** A rotation that can only move to a self-signed certificate waits for an approver, like onboarding does. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rotationWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { rotateCertificates } from '../workflows';
import { decideChangeUpdate, rotationStatusQuery } from '../workflows/messages';
import { estateFor } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

describe('self-signed rotation', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('is applied only after a second person approves it; a rejected one leaves the listener alone', async () => {
    const spec = testFleet(2, { policy: { certificate: { allowSelfSigned: true } } });
    const [approved, rejected] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec);
    const listenerOf = (fqdn: string) => estate.host(fqdn).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint;
    const old: Record<string, string | undefined> = {};
    for (const fqdn of [approved, rejected]) {
      estate.assign(fqdn, 'expiring-cert');
      const host = estate.host(fqdn);
      old[fqdn] = listenerOf(fqdn);
      // No CA-issued successor: only a self-signed certificate can replace the expiring one.
      host.certificates = host.certificates.filter((c) => c.thumbprint === old[fqdn] || c.selfSigned);
    }

    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await env.client.workflow.start(rotateCertificates, {
        workflowId: `${rotationWorkflowId(spec.fleetId)}/approval`,
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'schedule' }],
      });
      await waitFor(async () => (await handle.query(rotationStatusQuery)).pendingApprovals.length === 2, 'both wait');
      const pending = (await handle.query(rotationStatusQuery)).pendingApprovals;
      assert.ok(pending.every((p) => p.change.kind === 'self-signed-certificate'));
      assert.equal(listenerOf(approved), old[approved], 'nothing changes before the approval');
      const idOf = (fqdn: string) => pending.find((p) => p.change.fqdn === fqdn)?.change.id ?? '';
      await handle.executeUpdate(decideChangeUpdate, {
        args: [
          { changeId: idOf(approved), decision: 'approve', approver: 'bob', reason: 'CA outage, renew next week' },
        ],
      });
      await handle.executeUpdate(decideChangeUpdate, {
        args: [
          { changeId: idOf(rejected), decision: 'reject', approver: 'alice', reason: 'enrol from the CA instead' },
        ],
      });
      const report = await handle.result();
      assert.equal(report.results[approved].outcome, 'rotated');
      assert.notEqual(listenerOf(approved), old[approved]);
      assert.ok(estate.host(approved).certificates.find((c) => c.thumbprint === listenerOf(approved))?.selfSigned);
      assert.equal(report.results[rejected].outcome, 'rejected');
      assert.match(report.results[rejected].message ?? '', /rejected by alice \(enrol from the CA instead\)/);
      assert.equal(listenerOf(rejected), old[rejected]);
      assert.deepEqual(
        report.decisions.map((d) => [d.approver, d.decision]),
        [
          ['bob', 'approve'],
          ['alice', 'reject'],
        ]
      );
    });
  });
});
