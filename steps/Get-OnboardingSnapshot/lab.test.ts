/** Get-OnboardingSnapshot against the lab: what the snapshot reports about an Edge Transport server. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRunner } from '../../lab/lab-runner';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';

void describe('Get-OnboardingSnapshot in the lab', () => {
  void it('an Edge Transport server reports itself and has no AD object', async () => {
    const edge = 'edge01.corp.example';
    const spec = fleet([edge]);
    const estate = estateFor(spec, { [edge]: 'edge' });
    const runner = new LabRunner(estate);
    // Through WinRM with Kerberos, the lab runner refuses the session (KerberosUnreachable, test/lab-host-refusals.test.ts);
    // the script itself, as it runs over HTTPS with explicit credentials, reports what the server is.
    const outcome = estate.execute(callFor(spec, 'preflight', 'plan'));
    assert.equal(outcome.kind, 'envelope');
    const snap = (outcome.kind === 'envelope' ? outcome.envelope.after : {}) as {
      domainJoined: boolean;
      isEdgeTransport: boolean;
    };
    assert.deepEqual(
      { domainJoined: snap.domainJoined, isEdgeTransport: snap.isEdgeTransport },
      { domainJoined: false, isEdgeTransport: true }
    );
    await assert.rejects(
      runner.run(callFor(spec, 'enableKerberosDelegation', 'plan')),
      (err: { kind: { type: string } }) => {
        assert.equal(err.kind.type, 'ADObjectNotFound');
        return true;
      }
    );
  });
});
