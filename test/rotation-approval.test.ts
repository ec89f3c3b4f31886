/**
 * A rotation that can only move to a self-signed certificate waits for an approver, like onboarding does. The
 * certificate is one the Monosync servers already trust (listed in policy.certificate.trustedSelfSigned) and
 * has CN=<FQDN>, the only kind WinRM binds: Exchange's own CN=<computer name> one is never chosen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rotationWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { rotateCertificates } from '../workflows';
import { decideChangeUpdate, rotationStatusQuery } from '../workflows/messages';
import { readPrivateKeySeed, signFields } from '../client/commands/sign-decision';
import { testApproverKey } from './support/approver-keys';
import { estateFor } from './support/fleet-files';
import { expectRefused } from './support/server-status';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

const keys = { alice: testApproverKey('alice'), bob: testApproverKey('bob') };

describe('self-signed rotation', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('is applied only after a second person approves it; a rejected one leaves the listener alone', async () => {
    // One trusted self-signed certificate per server, imported on the Monosync side beforehand.
    const trusted = ['E'.repeat(40), 'F'.repeat(40)];
    // Approvals are signed here, as in production: alice and bob hold keys.
    const spec = testFleet(2, {
      approvers: [
        { name: 'alice', key: keys.alice.publicKey },
        { name: 'bob', key: keys.bob.publicKey },
      ],
      approvals: 'signed',
      policy: { certificate: { allowSelfSigned: true, trustedSelfSigned: trusted } },
    });
    const [approved, rejected] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec);
    const listenerOf = (fqdn: string) => estate.host(fqdn).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint;
    const old: Record<string, string | undefined> = {};
    for (const [i, fqdn] of [approved, rejected].entries()) {
      estate.assign(fqdn, 'expiring-cert');
      const host = estate.host(fqdn);
      old[fqdn] = listenerOf(fqdn);
      const expiring = host.certificates.find((c) => c.thumbprint === old[fqdn]);
      assert.ok(expiring);
      const selfSigned = {
        ...expiring,
        thumbprint: trusted[i],
        issuer: expiring.subject,
        notAfter: new Date(Date.now() + 300 * 86_400_000).toISOString(),
        selfSigned: true,
      };
      // No CA-issued successor: only a self-signed certificate can replace the expiring one (Exchange's own,
      // CN=<computer name>, stays in the store and is refused).
      host.certificates = host.certificates.filter((c) => c.thumbprint === old[fqdn] || c.selfSigned);
      host.certificates.push(selfSigned);
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
      const changeOf = (fqdn: string) => {
        const change = pending.find((p) => p.change.fqdn === fqdn)?.change;
        assert.ok(change, `a change pends for ${fqdn}`);
        return change;
      };
      const signed = (fqdn: string, decision: 'approve' | 'reject', approver: 'alice' | 'bob', reason: string) => {
        const change = changeOf(fqdn);
        const signature = signFields(readPrivateKeySeed(keys[approver].keyFile), {
          kind: 'change',
          fleetId: spec.fleetId,
          server: fqdn,
          changeId: change.id,
          changeText: change.text,
          decision,
          signer: approver,
          reason,
        });
        return { changeId: change.id, decision, approver, reason, signature };
      };
      const { signature: _unsigned, ...unsigned } = signed(approved, 'approve', 'bob', 'CA outage, renew next week');
      await expectRefused(
        handle.executeUpdate(decideChangeUpdate, { args: [unsigned] }),
        'DecisionRefused',
        /unsigned decision/
      );
      await handle.executeUpdate(decideChangeUpdate, {
        args: [signed(approved, 'approve', 'bob', 'CA outage, renew next week')],
      });
      await handle.executeUpdate(decideChangeUpdate, {
        args: [signed(rejected, 'reject', 'alice', 'enrol from the CA instead')],
      });
      const report = await handle.result();
      assert.equal(report.results[approved].outcome, 'rotated');
      assert.equal(listenerOf(approved), trusted[0], 'moved to the self-signed certificate Monosync trusts');
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
