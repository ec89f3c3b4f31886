/**
 * policy.certificate of the fleet file: a self-signed listener certificate only works where the Monosync
 * servers already trust it, so the fleet must list it (trustedSelfSigned), and the message says how.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { contextOf } from '../domain/onboarding';
import { step } from '../steps/Set-HttpsListener/step';

const BASE = {
  fleet: 'corp',
  serviceAccount: 'CORP\\monosync_svc',
  monosyncServers: ['10.20.30.41'],
  approvers: ['alice'],
  approvals: 'unsigned',
  servers: ['exch01.corp.example'],
};

function validate(certificate: Record<string, unknown>) {
  return validateFleet({ ...BASE, policy: { certificate } });
}

function specOf(certificate: Record<string, unknown>): FleetSpec {
  const result = validate(certificate);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
  return result.spec;
}

describe('fleet file: policy.certificate', () => {
  it('refuses allowSelfSigned without the certificates the Monosync side trusts, naming the field and the fix', () => {
    const result = validate({ allowSelfSigned: true });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.problems, [
      'policy.certificate.allowSelfSigned: a self-signed certificate works only if the Monosync servers already ' +
        'trust it: import it into their Trusted Root Certification Authorities store and list its thumbprint in ' +
        'policy.certificate.trustedSelfSigned, or enrol a CA-issued certificate and set allowSelfSigned: false',
    ]);
  });

  it('refuses trustedSelfSigned without allowSelfSigned, and a thumbprint that is not one', () => {
    const listed = validate({ trustedSelfSigned: ['A'.repeat(40)] });
    assert.match(
      listed.ok ? '' : listed.problems.join('\n'),
      /^policy\.certificate\.trustedSelfSigned: .*set allowSelfSigned: true/
    );
    const bad = validate({ allowSelfSigned: true, trustedSelfSigned: ['*'] });
    assert.match(
      bad.ok ? '' : bad.problems.join('\n'),
      /^policy\.certificate\.trustedSelfSigned\[0\]: "\*" is not a certificate thumbprint/
    );
  });

  it('passes the trusted thumbprints to Set-HttpsListener only when self-signed is allowed', () => {
    const spec = specOf({ allowSelfSigned: true, trustedSelfSigned: ['ab cd'.repeat(10).replace(/ /g, '')] });
    const server = spec.servers[0];
    const params = step.paramsFor(server, contextOf(spec));
    assert.deepEqual(params.TrustedSelfSigned, ['ABCD'.repeat(10)]);
    const none = specOf({});
    const without = step.paramsFor(server, contextOf(none));
    assert.deepEqual(without.TrustedSelfSigned, []);
    assert.equal('AllowSelfSigned' in without, false);
  });
});
