/** Set-HttpsListener's certificate rules against the certificate profiles of the lab. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessRisk } from '../../domain/risk';
import type { StepState } from '../../domain/steps';
import { CORP_ISSUER } from '../../lab/profiles';
import { LabRunner } from '../../lab/lab-runner';
import type { ProfileName } from '../../lab/profiles';
import { ScriptFailure } from '../../runner/port';
import { callFor, estateFor, fleet, world } from '../../test/lab-fixtures';

const FQDN = 'exch01.corp.example';
type Listener = StepState<'ensureHttpsListener'>;

function setup(profile: ProfileName, certificate: Record<string, unknown> = {}) {
  const spec = fleet([FQDN], { certificate });
  const estate = estateFor(spec, { [FQDN]: profile });
  return { spec, estate, runner: new LabRunner(estate) };
}

async function failureCode(promise: Promise<unknown>): Promise<{ type: string; code: string }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, String(err));
    return { type: err.kind.type, code: err.detail.code };
  }
  assert.fail('expected a ScriptFailure');
}

void describe('lab certificates', () => {
  void it("picks the longest-valid CA certificate, not the older one or Exchange's 5-year self-signed one", async () => {
    const { spec, estate, runner } = setup('fresh');
    const plan = await runner.run(callFor(spec, 'ensureHttpsListener', 'plan'));
    const after = plan.after as Listener;
    const host = estate.host(FQDN);
    const caCerts = host.certificates.filter((c) => c.issuer === CORP_ISSUER && c.dnsNames.includes(FQDN));
    const longest = [...caCerts].sort((a, b) => Date.parse(b.notAfter) - Date.parse(a.notAfter))[0];
    assert.equal(after.listener?.thumbprint, longest.thumbprint);
    assert.equal(plan.evidence.selectedThumbprint, longest.thumbprint);
    assert.equal(plan.evidence.selfSigned, false);
  });

  void it('honours the issuer allow-list', async () => {
    const { spec, runner } = setup('fresh', { issuers: ['CN=Other CA, DC=corp, DC=example'] });
    assert.deepEqual(await failureCode(runner.run(callFor(spec, 'ensureHttpsListener', 'plan'))), {
      type: 'NoSuitableCertificate',
      code: 'NoSuitableCertificate',
    });
    const allowed = setup('fresh', { issuers: ['cn=corp issuing ca 01,dc=corp,dc=example'] });
    const plan = await allowed.runner.run(callFor(allowed.spec, 'ensureHttpsListener', 'plan'));
    assert.equal((plan.after as Listener).certificate?.issuer, CORP_ISSUER);
  });

  void it('reports the most specific reason when nothing qualifies', async () => {
    for (const [profile, type, code] of [
      ['no-private-key', 'CertificateNoPrivateKey', 'CertNoPrivateKey'],
      ['expired-only', 'CertificateExpired', 'CertExpired'],
    ] as const) {
      const { spec, estate, runner } = setup(profile);
      const original = world(estate, FQDN);
      assert.deepEqual(await failureCode(runner.run(callFor(spec, 'ensureHttpsListener', 'apply'))), { type, code });
      assert.deepEqual(world(estate, FQDN), original, `${profile}: nothing changed`);
    }
  });

  void it('a pinned certificate that does not name the host is a name mismatch', async () => {
    const { estate } = setup('fresh');
    const other = estate.host(FQDN).certificates.find((c) => c.subject.startsWith('CN=mail.'));
    assert.ok(other);
    const spec = fleet([FQDN], { certificate: { thumbprint: other.thumbprint } });
    const runner = new LabRunner(estate);
    assert.deepEqual(await failureCode(runner.run(callFor(spec, 'ensureHttpsListener', 'plan'))), {
      type: 'CertificateNameMismatch',
      code: 'CertNameMismatch',
    });
  });

  void it('binds a self-signed certificate only when the fleet lists it as trusted by Monosync, never creating one', async () => {
    const { estate } = setup('expired-only');
    const host = estate.host(FQDN);
    const own = {
      ...host.certificates[0],
      thumbprint: 'D'.repeat(40),
      notAfter: new Date(Date.now() + 200 * 86_400_000).toISOString(),
    };
    own.issuer = own.subject;
    own.selfSigned = true;
    host.certificates.push(own);
    const untrusted = fleet([FQDN], { certificate: {} });
    assert.deepEqual(await failureCode(new LabRunner(estate).run(callFor(untrusted, 'ensureHttpsListener', 'apply'))), {
      type: 'NoSuitableCertificate',
      code: 'NoSuitableCertificate',
    });
    assert.equal(host.certificates.length, 2, 'no certificate is created');

    const spec = fleet([FQDN], { certificate: { allowSelfSigned: true, trustedSelfSigned: ['d'.repeat(40)] } });
    const runner = new LabRunner(estate);
    const plan = await runner.run(callFor(spec, 'ensureHttpsListener', 'plan'));
    assert.equal(plan.evidence.selfSigned, true);
    assert.equal((plan.after as Listener).listener?.thumbprint, own.thumbprint);
    const risk = assessRisk(
      { fqdn: FQDN, computerName: 'EXCH01', monosyncServers: spec.monosyncServers },
      { step: 'ensureHttpsListener', before: plan.before as Listener, after: plan.after as Listener }
    );
    assert.equal(risk?.kind, 'self-signed-certificate');
    const apply = await runner.run(callFor(spec, 'ensureHttpsListener', 'apply'));
    assert.equal((apply.after as Listener).listener?.thumbprint, own.thumbprint);
    assert.equal(host.certificates.length, 2);
  });

  void it('refuses certificates WinRM would not bind or Exchange owns: SAN-only names, Exchange bindings, untrusted chains', async () => {
    const san = setup('san-only-cert');
    assert.deepEqual(await failureCode(san.runner.run(callFor(san.spec, 'ensureHttpsListener', 'plan'))), {
      type: 'CertificateNameMismatch',
      code: 'CertNameMismatch',
    });
    const chain = setup('untrusted-chain');
    assert.deepEqual(await failureCode(chain.runner.run(callFor(chain.spec, 'ensureHttpsListener', 'plan'))), {
      type: 'NoSuitableCertificate',
      code: 'NoSuitableCertificate',
    });
    const bound = setup('fresh');
    const host = bound.estate.host(FQDN);
    const current = [...host.certificates]
      .filter((c) => c.issuer === CORP_ISSUER && c.subject === `CN=${FQDN}`)
      .sort((a, b) => Date.parse(b.notAfter) - Date.parse(a.notAfter));
    host.exchangeCertificateServices = {
      ...host.exchangeCertificateServices,
      [current[0].thumbprint]: ['IIS', 'SMTP'],
    };
    const plan = await bound.runner.run(callFor(bound.spec, 'ensureHttpsListener', 'plan'));
    assert.equal(
      (plan.after as Listener).listener?.thumbprint,
      current[1].thumbprint,
      'the Exchange-bound one is skipped'
    );
  });

  void it('refuses a listener over a stale HTTP.sys binding, naming the fix', async () => {
    const { spec, estate, runner } = setup('stale-ssl-binding');
    const original = world(estate, FQDN);
    await assert.rejects(runner.run(callFor(spec, 'ensureHttpsListener', 'apply')), (err: ScriptFailure) => {
      assert.equal(err.detail.code, 'StaleSslBinding');
      assert.match(err.message, /netsh http delete sslcert ipport=0\.0\.0\.0:5986/);
      return true;
    });
    assert.deepEqual(world(estate, FQDN), original);
  });

  void it('rotates a listener whose certificate expires soon to the renewed certificate, in place', async () => {
    const { spec, estate, runner } = setup('expiring-cert');
    const before = estate.host(FQDN).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint;
    const apply = await runner.run(callFor(spec, 'ensureHttpsListener', 'apply'));
    assert.equal(apply.changed, true);
    const https = estate.host(FQDN).listeners.filter((l) => l.transport === 'HTTPS');
    assert.equal(https.length, 1);
    assert.notEqual(https[0].thumbprint, before);
    const cert = estate.host(FQDN).certificates.find((c) => c.thumbprint === https[0].thumbprint);
    assert.ok(cert && Date.parse(cert.notAfter) - Date.now() > 300 * 86_400_000);
  });

  void it('a listener becomes non-compliant as the lab clock passes its renewal margin', async () => {
    const { spec, estate, runner } = setup('onboarded');
    assert.equal((await runner.run(callFor(spec, 'ensureHttpsListener', 'plan'))).changed, false);
    estate.advanceDays(340);
    await assert.rejects(runner.run(callFor(spec, 'ensureHttpsListener', 'plan')), (err: ScriptFailure) => {
      return err.kind.type === 'CertificateExpired' || err.kind.type === 'NoSuitableCertificate';
    });
  });
});
