/** Set-HttpsListener's risk rule: a self-signed listener certificate needs approval, a CA-issued one does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessRisk } from '../../domain/risk';
import { RISK_CONTEXT as ctx } from '../../test/support/risk';

const caCert = {
  thumbprint: 'A'.repeat(40),
  subject: 'CN=exch01.corp.example',
  issuer: 'CN=Corp CA',
  dnsNames: ['exch01.corp.example'],
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2027-01-01T00:00:00Z',
  hasPrivateKey: true,
  serverAuth: true,
  selfSigned: false,
};

describe('Set-HttpsListener risk rule', () => {
  it('a CA-issued certificate needs no approval; an existing self-signed one does', () => {
    const listener = { port: 5986, hostname: ctx.fqdn, thumbprint: caCert.thumbprint };
    assert.equal(
      assessRisk(ctx, {
        step: 'ensureHttpsListener',
        before: { listener: null, certificate: null },
        after: { listener, certificate: caCert },
      }),
      null
    );
    const selfSigned = { ...caCert, thumbprint: 'B'.repeat(40), selfSigned: true };
    const risk = assessRisk(ctx, {
      step: 'ensureHttpsListener',
      before: { listener, certificate: caCert },
      after: { listener: { ...listener, thumbprint: selfSigned.thumbprint }, certificate: selfSigned },
    });
    assert.equal(risk?.to, `self-signed ${'B'.repeat(40)}`);
  });
});
