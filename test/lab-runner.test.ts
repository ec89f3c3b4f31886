/** LabRunner's concurrency model and the estate's persistence and scenarios. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { exampleEstate, largeFleetEstate } from '../lab/scenarios';
import { powershell51Json, type SessionText } from '../lab/session-text';
import { ScriptFailure } from '../runner/port';
import { callFor, estateFor, fleet } from './lab-fixtures';

void describe('lab runner', () => {
  void it('opens at most two sessions per host', async () => {
    const spec = fleet(['exch01.corp.example']);
    const runner = new LabRunner(estateFor(spec), { latencyMs: 15 });
    await Promise.all(Array.from({ length: 6 }, () => runner.run(callFor(spec, 'preflight', 'plan'))));
    assert.equal(runner.stats.maxSessionsPerHost, 2);
    assert.equal(runner.stats.calls, 6);
    assert.equal(runner.stats.inFlightServers, 0);
  });

  void it('counts servers and AD calls in flight', async () => {
    const spec = fleet(['exch01.corp.example', 'exch02.corp.example', 'exch03.corp.example']);
    const runner = new LabRunner(estateFor(spec), { latencyMs: 15 });
    await Promise.all(
      spec.servers.flatMap((_, i) => [
        runner.run(callFor(spec, 'preflight', 'plan', i)),
        runner.run(callFor(spec, 'enableKerberosDelegation', 'plan', i)),
        runner.run(callFor(spec, 'verifyConnectivity', 'plan', i)),
      ])
    );
    assert.equal(runner.stats.maxInFlightServers, 3);
    assert.equal(runner.stats.maxAdInFlight, 3);
    assert.equal(runner.stats.adInFlight, 0);
  });

  void it('rejects invalid parameters before anything runs', async () => {
    const spec = fleet(['exch01.corp.example']);
    const estate = estateFor(spec);
    const runner = new LabRunner(estate);
    const call = { ...callFor(spec, 'setCbtHardening', 'apply'), params: { Level: 'Off' } };
    await assert.rejects(runner.run(call), (err: ScriptFailure) => err.kind.type === 'InvalidInput');
    assert.deepEqual(estate.counters('exch01.corp.example'), {});
  });

  void it('writes JSON as Windows PowerShell 5.1 ConvertTo-Json -Compress does', () => {
    // What 5.1 prints for @{ text = "it's <b> & é`t"; list = @(1, 2); on = $true; none = $null } (ordered).
    const document = { text: "it's <b> & é\t", list: [1, 2], on: true, none: null };
    assert.equal(
      powershell51Json(document),
      '{"text":"it\\u0027s \\u003cb\\u003e \\u0026 é\\t","list":[1,2],"on":true,"none":null}'
    );
  });

  void it("answers with the text a 5.1 session prints, which the production runner's parser reads", async () => {
    const spec = fleet(['exch01.corp.example']);
    const printed: SessionText[] = [];
    const runner = new LabRunner(estateFor(spec, { 'exch01.corp.example': 'german' }), {
      onSessionText: (text) => printed.push(text),
    });
    const envelope = await runner.run(callFor(spec, 'grantRemoteManagement', 'plan'));
    assert.equal(printed.length, 1);
    const { stdout, stderr } = printed[0];
    assert.equal(stderr, '');
    assert.ok(
      stdout.endsWith('\r\n') && !stdout.slice(0, -2).includes('\n'),
      'one line, as Write-StepResult prints it'
    );
    assert.equal(stdout, `${powershell51Json(envelope)}\r\n`);
    assert.deepEqual(JSON.parse(stdout), envelope, 'the envelope returned is the one parsed from that text');
  });

  void it('saves atomically and loads the same estate back', async () => {
    const spec = fleet(['exch01.corp.example']);
    const estate = estateFor(spec);
    estate.injectFault({ kind: 'error', code: '5', probability: 0.3 });
    await new LabRunner(estate).run(callFor(spec, 'setCbtHardening', 'apply')).catch(() => undefined);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lab-')), 'nested', 'estate.json');
    estate.save(file);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['estate.json']);
    const loaded = LabEstate.load(file);
    assert.deepEqual(loaded.toJSON(), estate.toJSON());
    assert.ok(Math.abs(loaded.now().getTime() - estate.now().getTime()) < 1000);
    assert.throws(() => LabEstate.fromJSON({ ...estate.toJSON(), schema: 'other' as 'monosync.lab.estate/v1' }));
  });

  void it('the lab clock is settable', () => {
    const estate = LabEstate.create({ now: new Date('2030-01-01T00:00:00Z') });
    assert.ok(Math.abs(estate.now().getTime() - Date.parse('2030-01-01T00:00:00Z')) < 1000);
    estate.advanceDays(2);
    assert.equal(estate.now().toISOString().slice(0, 10), '2030-01-03');
  });

  void it('identities are deterministic for a seed', () => {
    const a = LabEstate.create({ seed: 3 }).host('exch01.corp.example');
    const b = LabEstate.create({ seed: 3 }).host('exch01.corp.example');
    const c = LabEstate.create({ seed: 4 }).host('exch01.corp.example');
    assert.deepEqual(
      a.certificates.map((x) => x.thumbprint),
      b.certificates.map((x) => x.thumbprint)
    );
    assert.notDeepEqual(
      a.certificates.map((x) => x.thumbprint),
      c.certificates.map((x) => x.thumbprint)
    );
  });

  void it('the example estate takes its settings from the fleet and mixes profiles', () => {
    const names = ['exch01', 'exch02', 'exch03', 'edge01', 'exch04', 'exch05', 'exch06'];
    const spec = fleet(names.map((n) => `${n}.corp.example`));
    const estate = exampleEstate(spec);
    const profiles = spec.servers.map((s) => estate.host(s.fqdn).profile);
    assert.deepEqual(profiles, ['fresh', 'fresh', 'german', 'edge', 'expiring-cert', 'fresh', 'fresh']);
    assert.deepEqual(estate.toJSON().settings.monosyncServers, spec.monosyncServers);
    assert.equal(estate.computer('EXCH03')?.dnsHostName, 'exch03.corp.example');
  });

  void it('a 5,000-server estate is cheap until touched', async () => {
    const spec = fleet(Array.from({ length: 5000 }, (_, i) => `mbx${i}.corp.example`));
    const started = Date.now();
    const estate = largeFleetEstate(spec);
    assert.equal(Object.keys(estate.toJSON().hosts).length, 0);
    const runner = new LabRunner(estate);
    for (let i = 0; i < 5000; i += 500) await runner.run(callFor(spec, 'enableKerberosDelegation', 'plan', i));
    assert.equal(Object.keys(estate.toJSON().hosts).length, 10);
    assert.ok(Date.now() - started < 3000, 'fast');
  });
});
