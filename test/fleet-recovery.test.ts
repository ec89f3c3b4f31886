/**
 * A bad day for the operator's tools: `fleet status` and `fleet report` of a finished fleet with no
 * worker running, and `fleet onboard --wait` while the Temporal server stops and starts again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, ServiceError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { retryWhileUnavailable, isTemporalUnavailable } from '../client/outage';
import { freePort, startDevServer, type DevServer } from '../devserver/dev-server';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { decideChangeUpdate } from '../workflows/messages';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { waitForPending } from './support/server-status';
import { startFleet, tag, testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

/** What gRPC gives when the server is down, as the client wraps it. */
function unavailable(): ServiceError {
  const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: 14,
    details: 'No connection established',
    metadata: {},
  });
  return new ServiceError('Failed to query Workflow', { cause: grpc });
}

describe('riding out an outage', () => {
  it('tries again while Temporal is unavailable, and passes any other error on at once', async () => {
    const waits: number[] = [];
    const told: string[] = [];
    let calls = 0;
    const value = await retryWhileUnavailable(
      async () => {
        calls += 1;
        if (calls <= 3) throw unavailable();
        return 'answer';
      },
      {
        giveUpAfterMs: 60_000,
        initialDelayMs: 100,
        maxDelayMs: 250,
        sleep: async (ms) => void waits.push(ms),
        onOutage: () => told.push('down'),
        onRecovered: () => told.push('up'),
      }
    );
    assert.equal(value, 'answer');
    assert.deepEqual(waits, [100, 200, 250]);
    assert.deepEqual(told, ['down', 'up']);

    assert.equal(isTemporalUnavailable(new Error('workflow not found')), false);
    await assert.rejects(
      retryWhileUnavailable(() => Promise.reject(new Error('not found')), {
        giveUpAfterMs: 60_000,
        initialDelayMs: 1,
        maxDelayMs: 1,
      }),
      /not found/
    );
    let now = 0;
    await assert.rejects(
      retryWhileUnavailable(() => Promise.reject(unavailable()), {
        giveUpAfterMs: 1_000,
        initialDelayMs: 400,
        maxDelayMs: 400,
        sleep: async (ms) => void (now += ms),
        now: () => now,
      }),
      ServiceError,
      'gives up after giveUpAfterMs'
    );
  });
});

describe('status and report of a finished fleet with no worker running', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('read the fleet and its servers from their results', async () => {
    const spec = testFleet(2, { policy: SAFE_POLICY });
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      await (await startFleet(env, spec, 'carol')).result();
    });
    // The workers are gone: nothing polls this fleet's task queue, so a query would find no one.
    const status = await runCli(['status', spec.fleetId, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout) as { fleet: FleetStatus; servers: ServerStatus[] };
    assert.equal(json.fleet.done, true);
    assert.deepEqual(
      json.servers.map((s) => s.phase),
      ['onboarded', 'onboarded']
    );
    const report = await runCli(['report', spec.fleetId]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, new RegExp(`# Fleet ${spec.fleetId}`));
    for (const server of spec.servers) assert.match(report.stdout, new RegExp(`\\(${server.fqdn}\\): onboarded`));
  });
});

describe('fleet onboard --wait through a Temporal restart', () => {
  let server: DevServer | undefined;
  let port: number;
  const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-outage-')), 'temporal.db');
  before(async () => {
    port = await freePort();
    server = await startDevServer({ port, dbFile });
  });
  after(async () => server?.stop());

  /** A test environment on this test's own server (the shared one is not ours to stop). */
  async function ownEnv(taskQueue: string): Promise<TestEnv> {
    const address = `127.0.0.1:${port}`;
    const clientConnection = await Connection.connect({ address });
    const connection = await NativeConnection.connect({ address });
    return {
      client: new Client({ connection: clientConnection, namespace: 'default' }),
      connection,
      taskQueue,
      close: async () => {
        await clientConnection.close();
        await connection.close();
      },
    };
  }

  it('keeps following while the server is down, and exits 0 when the fleet is done', async () => {
    const spec = testFleet(1, { policy: ONE_APPROVAL_POLICY });
    const fqdn = spec.servers[0].fqdn;
    const change = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const estate = estateFor(spec);
    const taskQueue = `outage-${tag()}`;
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'client', 'fleet.ts'), 'onboard', writeFleetFile(spec), '--wait'],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
          TEMPORAL_TASK_QUEUE: taskQueue,
          FLEET_USER: 'carol',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => cli.on('close', (code) => resolve(code ?? 1)));
    try {
      const first = await ownEnv(taskQueue);
      await withWorkers(first, new LabRunner(estate), async () => {
        await waitForPending(first.client.workflow.getHandle(serverWorkflowId(fqdn)), change);
      });
      await first.close();

      // Down: the fleet waits for its approval meanwhile; the CLI must not give up.
      await server?.stop();
      await waitFor(async () => /Temporal is unreachable/.test(stderr), 'the CLI notices the outage', 60_000);
      assert.equal(cli.exitCode, null, `the CLI exited during the outage:\n${stderr}`);
      server = await startDevServer({ port, dbFile });

      const second = await ownEnv(taskQueue);
      try {
        await withWorkers(second, new LabRunner(estate), async () => {
          await second.client.workflow.getHandle(serverWorkflowId(fqdn)).executeUpdate(decideChangeUpdate, {
            args: [{ changeId: change, decision: 'approve', approver: 'bob', reason: 'CAB-7' }],
          });
          let timer: NodeJS.Timeout | undefined;
          const code = await Promise.race([
            exited,
            new Promise<number>((resolve) => {
              timer = setTimeout(() => resolve(-1), 120_000);
            }),
          ]).finally(() => clearTimeout(timer));
          assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
        });
      } finally {
        await second.close();
      }
      assert.match(stderr, /Temporal answers again/);
      assert.match(stdout, /onboarded/);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    }
  });
});
