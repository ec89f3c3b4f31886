/** Monthly certificate rotation on the lab: rotate, leave alone, roll back, skip, and report unreachable. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rotationWorkflowId } from '../domain/ids';
import type { RotationReport } from '../domain/rotation';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import type { LabHost } from '../lab/model';
import { estateFor } from './support/fleet-files';
import { executeRotation } from './support/rotation';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

function httpsThumbprint(host: LabHost): string | undefined {
  return host.listeners.find((l) => l.transport === 'HTTPS')?.thumbprint;
}

/** Everything rotation could touch on a host, plus how many changes the lab counted there. */
function snapshot(estate: LabEstate, fqdn: string) {
  const host = estate.host(fqdn);
  return {
    listeners: structuredClone(host.listeners),
    certificates: structuredClone(host.certificates),
    changes: Object.values(estate.counters(fqdn)).reduce((n, c) => n + (c?.changes ?? 0), 0),
  };
}

describe('certificate rotation on the lab', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('rotates expiring listeners, leaves healthy ones alone, rolls back a failed verification, and a re-run changes nothing', async () => {
    const spec = testFleet(4);
    const [expiring, healthy, failing, fresh] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, ['expiring-cert', 'onboarded', 'expiring-cert', 'fresh']);
    estate.injectFault({ kind: 'tls-verify-fails', host: failing });

    const initial = Object.fromEntries(spec.servers.map((s) => [s.fqdn, snapshot(estate, s.fqdn)]));
    const oldExpiring = httpsThumbprint(estate.host(expiring));
    const oldHealthy = httpsThumbprint(estate.host(healthy));
    const oldFailing = httpsThumbprint(estate.host(failing));
    assert.ok(oldExpiring && oldHealthy && oldFailing, 'onboarded profiles have an HTTPS listener');
    assert.equal(httpsThumbprint(estate.host(fresh)), undefined);
    const renewed = estate.host(expiring).certificates.find((c) => c.thumbprint !== oldExpiring && !c.selfSigned);
    assert.ok(renewed, 'the expiring-cert profile holds a renewed certificate');

    const run = (suffix: string): Promise<RotationReport> => executeRotation(env, spec, { suffix });
    const runner = new LabRunner(estate);
    const [first, second] = await withWorkers(env, runner, async () => [await run('first'), await run('second')]);

    // First run.
    assert.equal(first.done, true);
    assert.equal(first.fleetId, spec.fleetId);
    assert.deepEqual(first.results[expiring], {
      outcome: 'rotated',
      from: oldExpiring,
      to: renewed.thumbprint,
      notAfter: renewed.notAfter,
    });
    assert.equal(first.results[healthy].outcome, 'still-valid');
    assert.equal(first.results[healthy].from, oldHealthy);
    assert.equal(first.results[healthy].to, oldHealthy);
    assert.equal(first.results[failing].outcome, 'failed-rolled-back');
    assert.match(first.results[failing].message ?? '', /VerificationFailed/);
    assert.equal(first.results[fresh].outcome, 'no-listener');
    assert.deepEqual(first.counts, { rotated: 1, 'still-valid': 1, 'failed-rolled-back': 1, 'no-listener': 1 });
    assert.deepEqual(first.pendingApprovals, []);

    // What the lab shows now (after both runs: the second one must not have changed anything).
    assert.equal(
      httpsThumbprint(estate.host(expiring)),
      renewed.thumbprint,
      'the listener serves the renewed certificate'
    );
    assert.equal(httpsThumbprint(estate.host(healthy)), oldHealthy);
    assert.deepEqual(snapshot(estate, healthy), initial[healthy], 'healthy server untouched, no changes counted');
    assert.equal(httpsThumbprint(estate.host(failing)), oldFailing, 'the failed server is back on its OLD certificate');
    assert.deepEqual(snapshot(estate, fresh), initial[fresh], 'a server without a listener gets none');

    // Second run: the rotated one is now still valid; nothing changes anywhere.
    assert.equal(second.done, true);
    assert.deepEqual(second.results[expiring], {
      outcome: 'still-valid',
      from: renewed.thumbprint,
      to: renewed.thumbprint,
      notAfter: renewed.notAfter,
    });
    assert.equal(second.results[healthy].outcome, 'still-valid');
    assert.equal(second.results[fresh].outcome, 'no-listener');
    // The TLS fault is still there: the failing server is tried and rolled back again, never left half-rotated.
    assert.equal(second.results[failing].outcome, 'failed-rolled-back');
    const expiringChanges = snapshot(estate, expiring).changes;
    assert.equal(expiringChanges, 1, 'one change on the rotated server: the first run');
  });

  it('a re-run after the rotation changes nothing in the lab', async () => {
    const spec = testFleet(2);
    const estate = estateFor(spec, ['expiring-cert', 'onboarded']);
    const run = (suffix: string): Promise<RotationReport> =>
      executeRotation(env, spec, { suffix, requestedBy: 'schedule' });
    await withWorkers(env, new LabRunner(estate), async () => {
      const first = await run('first');
      assert.equal(first.results[spec.servers[0].fqdn].outcome, 'rotated');
      const world = structuredClone(estate.toJSON());
      const second = await run('second');
      assert.deepEqual(
        Object.values(second.results).map((r) => r.outcome),
        ['still-valid', 'still-valid']
      );
      assert.deepEqual(second.counts, { 'still-valid': 2 });
      const now = estate.toJSON();
      assert.deepEqual(now.hosts, world.hosts, 'no host changed');
      for (const s of spec.servers) {
        const changes = (fqdn: string, state: typeof now) =>
          Object.values(state.counters[fqdn] ?? {}).reduce((n, c) => n + (c?.changes ?? 0), 0);
        assert.equal(changes(s.fqdn, now), changes(s.fqdn, world), `${s.fqdn}: no change counted`);
      }
    });
  });

  it('a successor certificate WinRM would not bind (the FQDN only in its SAN) is refused at plan; the listener stays', async () => {
    const spec = testFleet(1);
    const [fqdn] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, ['expiring-cert']);
    const host = estate.host(fqdn);
    const old = httpsThumbprint(host);
    for (const cert of host.certificates) {
      // The renewed certificate came back as CN=<computer name> with the FQDN in its SAN.
      if (cert.thumbprint !== old && !cert.selfSigned) cert.subject = `CN=${host.computerName}`;
    }
    const report = await withWorkers(env, new LabRunner(estate), () =>
      executeRotation(env, spec, { suffix: 'san-only', requestedBy: 'schedule' })
    );
    assert.equal(report.results[fqdn].outcome, 'failed');
    // The expiring one is the only certificate with CN=<FQDN>; the message names the SAN-only successor.
    assert.match(
      report.results[fqdn].message ?? '',
      /^CertificateExpired: .*name it only in the SAN, which WinRM does not bind/
    );
    assert.equal(httpsThumbprint(host), old, 'the listener keeps its certificate');
  });

  it('a server whose WinRM does not answer ends unreachable, after the fleet’s quick retries', async () => {
    const spec = testFleet(2); // stepRetry: 100ms, 3 attempts
    const [down, up] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, ['expiring-cert', 'expiring-cert']);
    estate.injectFault({ kind: 'error', host: down, code: '0x80338012' });
    const oldDown = httpsThumbprint(estate.host(down));
    const started = Date.now();
    const report = await withWorkers(env, new LabRunner(estate), () => executeRotation(env, spec));
    assert.equal(report.results[down].outcome, 'unreachable');
    assert.match(report.results[down].message ?? '', /WinRMUnavailable/);
    assert.equal(report.results[up].outcome, 'rotated');
    assert.equal(httpsThumbprint(estate.host(down)), oldDown, 'nothing changed on the unreachable server');
    assert.equal(estate.counters(down)['Set-HttpsListener']?.calls, 3, 'tried stepRetry.maximumAttempts times');
    assert.ok(Date.now() - started < 20_000, 'retries follow settings.stepRetry, not a fixed 5s backoff');
  });

  it('an Edge Transport server is not applicable: its check completes saying so, and no activity fails', async () => {
    const spec = testFleet(2);
    const [edge, member] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, ['edge', 'expiring-cert']);
    const report = await withWorkers(env, new LabRunner(estate), () => executeRotation(env, spec));
    assert.equal(report.results[edge].outcome, 'not-applicable');
    assert.match(
      report.results[edge].message ?? '',
      /Edge Transport or workgroup server .*\(KerberosUnreachable\); not rotated$/
    );
    assert.equal(report.results[member].outcome, 'rotated');
    const { events } = await env.client.workflow.getHandle(rotationWorkflowId(spec.fleetId)).fetchHistory();
    const failed = (events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
    assert.deepEqual(failed, [], 'the Web UI shows no failed activity for a server rotation does not apply to');
  });
});
