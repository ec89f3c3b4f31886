import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { validateFleet } from '../domain/fleet';
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
