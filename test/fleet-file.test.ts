import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { MAX_SERVER_LIST_BYTES, serverListBytes, validateFleet } from '../domain/fleet';
import type { FleetRunInput } from '../domain/status';
import { fleetWorkflowId } from '../domain/ids';
import { runCli } from './support/cli';
import { tag, testEnv, type TestEnv } from './support/temporal';

describe('fleet file validation', () => {
  it('lists every problem with its path', () => {
    const result = validateFleet({
      fleet: 'Bad Fleet',
      serviceAccount: 'monosync svc',
      monosyncServers: ['10.0.0.300'],
      approvers: [],
      servers: ['exch01.corp.example', 'exch02.corp.example', 'exch 01', 'exch01.corp.example'],
      policy: { cbtHardeningLevel: 'Off' },
      settings: { serverCheckInterval: '10ms' },
    });
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    const paths = problems.map((p) => p.split(':')[0]);
    for (const expected of [
      'fleet',
      'serviceAccount',
      'monosyncServers[0]',
      'approvers',
      'servers[2].fqdn',
      'policy.cbtHardeningLevel',
      'settings.serverCheckInterval',
    ]) {
      assert.ok(
        paths.some((p) => p.startsWith(expected)),
        `expected a problem at ${expected}, got:\n${problems.join('\n')}`
      );
    }
    assert.ok(
      problems.some((p) => /servers\[2\]\.fqdn: "exch 01" is not a DNS name/.test(p)),
      problems.join('\n')
    );
  });

  it('refuses a server list too large for the fleet workflow to carry, and the largest allowed one fits', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `exchange-mailbox-${i}.emea.subsidiary.corp.example.com`);
    let fits = 0;
    for (let bytes = 0; bytes + serverListBytes([{ fqdn: names[fits] }]) <= MAX_SERVER_LIST_BYTES; fits += 1) {
      bytes += serverListBytes([{ fqdn: names[fits] }]);
    }
    const file = (servers: string[]) => ({
      fleet: 'big',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.1'],
      approvers: ['alice'],
      servers,
    });

    const tooMany = validateFleet(file(names.slice(0, fits + 1)));
    assert.equal(tooMany.ok, false);
    const problems = tooMany.ok ? [] : tooMany.problems;
    assert.match(problems.join('\n'), /^servers: .*more than the 1.5 MB one fleet can carry.*split the servers/m);

    const largest = validateFleet(file(names.slice(0, fits)));
    assert.ok(largest.ok, largest.ok ? '' : largest.problems.join('\n'));
    // The worst case the fleet workflow carries: every server in flight, waiting for an operator.
    const fqdns = largest.spec.servers.map((s) => s.fqdn);
    const input: FleetRunInput = {
      spec: largest.spec,
      requestedBy: 'carol',
      carry: {
        cursor: fqdns.length,
        servers: Object.fromEntries(fqdns.map((f) => [f, 'awaiting-operator'])),
        inFlight: fqdns,
        runIds: Object.fromEntries(fqdns.map((f) => [f, '01234567-89ab-cdef-0123-456789abcdef'])),
        standingDecisions: [],
        run: 7,
      },
    };
    const bytes = defaultPayloadConverter.toPayload(input).data?.length ?? 0;
    assert.ok(bytes <= MAX_SERVER_LIST_BYTES + 10_000, `the input takes ${bytes} bytes`);
    assert.ok(bytes < 2 * 1024 * 1024);
  });

  it('accepts the example fleet and fills in the defaults', () => {
    const result = validateFleet({
      fleet: 'ok',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.1'],
      approvers: ['alice'],
      servers: ['exch01.corp.example'],
    });
    assert.ok(result.ok);
    assert.equal(result.spec.settings.maxParallel, 32);
    assert.equal(result.spec.settings.approvalTimeout, 72 * 3_600_000);
    assert.equal(result.spec.servers[0].computerName, 'EXCH01');
  });
});

describe('fleet onboard with an invalid file', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('prints every problem, exits non-zero and starts no workflow', async () => {
    const fleetId = `bad-${tag()}`;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')), 'fleet.yaml');
    fs.writeFileSync(
      file,
      [
        `fleet: ${fleetId}`,
        'serviceAccount: CORP\\monosync_svc',
        'monosyncServers: [10.20.30.41]',
        'approvers: [alice]',
        'servers:',
        '  - exch01.corp.example',
        '  - exch02.corp.example',
        '  - exch 01',
        'settings:',
        '  maxParallel: 0',
      ].join('\n')
    );
    const result = await runCli(['onboard', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /servers\[2\]\.fqdn: "exch 01" is not a DNS name/);
    assert.match(result.stderr, /settings\.maxParallel/);
    await assert.rejects(env.client.workflow.getHandle(fleetWorkflowId(fleetId)).describe(), WorkflowNotFoundError);
  });

  it('reports YAML syntax errors by line', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')), 'fleet.yaml');
    fs.writeFileSync(file, 'fleet: x\nservers: [a, b\n');
    const result = await runCli(['onboard', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /line \d+/);
  });

  it('gives a usage error for unknown commands and missing arguments', async () => {
    assert.equal((await runCli(['onbord'])).code, 2);
    const missing = await runCli(['status']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument/);
  });
});
