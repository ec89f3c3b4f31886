/**
 * What the acceptance reports about Monosync's service account: its own session is the proof of Remote
 * Management Users, and the operator is told plainly when the worker could not act as that account.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextOf } from '../../domain/onboarding';
import { LabRunner } from '../../lab/lab-runner';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';
import { step } from './step';

const FQDN = 'exch01.corp.example';
const HEALTHY = { wsmanHttps: true, kerberosSecondHop: true, servedThumbprint: 'A'.repeat(40) };

void describe('acceptance as the service account', () => {
  const spec = fleet([FQDN]);
  const context = contextOf(spec);
  const problems = (sessionAsServiceAccount: boolean | null) =>
    step.hooks?.acceptanceProblems?.({ ...HEALTHY, sessionAsServiceAccount }, context) ?? [];

  void it('passes only when the service account itself opened a session', () => {
    assert.deepEqual(problems(true), []);
  });

  void it('says plainly when membership was not proven, and what to set on the worker', () => {
    assert.deepEqual(problems(null), [
      'acceptance: membership of CORP\\monosync_svc in Remote Management Users was not proven: the worker cannot act as that account; set FLEET_SERVICE_ACCOUNT_USER and FLEET_SERVICE_ACCOUNT_PASSWORD_FILE on the worker, or run the worker as that account',
    ]);
  });

  void it('reports a session refused to the account', () => {
    assert.match(problems(false).join(), /CORP\\monosync_svc cannot open a session on the server/);
  });

  void it('passes the domain in (the fleet domain, else the server suffix), never left to the session', async () => {
    const call = callFor(spec, 'verifyConnectivity', 'plan');
    assert.equal(call.params.Domain, 'corp.example');
    const runner = new LabRunner(estateFor(spec, { [FQDN]: 'onboarded' }));
    const envelope = await runner.run(call);
    assert.equal(
      envelope.evidence.secondHopProbe,
      `Test-Path \\\\corp.example\\SYSVOL in a session on ${FQDN} as CORP\\monosync_svc`
    );
    assert.equal((envelope.after as { sessionAsServiceAccount: boolean }).sessionAsServiceAccount, true);
  });
});
