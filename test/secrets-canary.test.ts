/**
 * Secrets canary: the worker's admin password, the service-account password, the payload codec key
 * and an API-key-like token are unique canary strings, given to the workers and the CLI the way an
 * operator would (environment variables). A small fleet runs through the production entry points —
 * workers/main.ts and workers/ad.ts as their own processes (run-worker.ts: environment, codec, runner
 * choice) and the `fleet` CLI — on a dev server of this test's own, so its SQLite database file is
 * known. The workers use the lab runner (FLEET_RUNNER=lab): a whole fleet cannot run through real
 * PowerShell here, there being no Windows host; test/powershell-runner-real.test.ts shows the real
 * runner keeping the password out of real pwsh's arguments, output, errors and child programs.
 * Then every place a secret could leak to is searched for every canary: the raw history of every
 * workflow, the workers' output, the CLI's output, the lab state and the server's database files.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { ENCRYPTED_ENCODING } from '../config/codec';
import { freePort, startDevServer, type DevServer } from '../devserver/dev-server';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { FINAL_PHASES } from '../domain/status';
import { NodePowerShellRunner } from '../powershell/node-powershell-runner';
import { ensurePowerShellTools, quietToolEnv } from '../scripts/powershell-tools';
import { runCli } from './support/cli';
import { estateFor, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { metadataText, rawFleetHistories } from './support/raw-history';
import { tag, testFleet } from './support/temporal';
import { waitFor } from './support/wait';

const canary = (what: string) => `canary-${what}-${randomBytes(6).toString('hex')}`;
const CODEC_KEY = randomBytes(32);
const CANARIES = {
  adminPassword: canary('admin-password'),
  serviceAccountPassword: canary('service-account-password'),
  codecKey: CODEC_KEY.toString('base64'),
  apiKey: `tmprl_${canary('api-key')}`,
};

const REAL_PWSH_WRAPPER = path.join(__dirname, 'fixtures', 'real-pwsh', 'pwsh');
/** Where a server of the real-pwsh fleet stops: waiting for an operator, or ended. */
const SETTLED = ['awaiting-operator', ...FINAL_PHASES] as string[];
type FleetView = { servers: Record<string, { phase: string }> };

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
}

function startWorker(entry: string, env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', entry)], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
  w.child.kill('SIGTERM');
  await exited;
}

/** Each canary found in `text`, as text and (the codec key) as its raw bytes too. */
function canariesIn(where: string, content: Buffer | string): string[] {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const found = Object.entries(CANARIES)
    .filter(([, value]) => bytes.includes(value))
    .map(([name]) => `${name} in ${where}`);
  if (bytes.includes(CODEC_KEY)) found.push(`codec key bytes in ${where}`);
  return found;
}

/** The secrets as an operator gives them to workers and CLI, on the server at `server`. */
function secretsEnv(server: Pick<DevServer, 'address' | 'namespace'>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    TEMPORAL_TASK_QUEUE: `canary-${tag()}`,
    // An API key turns TLS on by default; the dev server speaks plain gRPC and ignores the key.
    TEMPORAL_API_KEY: CANARIES.apiKey,
    TEMPORAL_TLS: 'false',
    FLEET_CODEC_KEY: CANARIES.codecKey,
    FLEET_CODEC_KEY_ID: 'canary',
    FLEET_ADMIN_USER: 'CORP\\onboard_admin',
    FLEET_ADMIN_PASSWORD: CANARIES.adminPassword,
    FLEET_SERVICE_ACCOUNT_USER: 'CORP\\monosync_svc',
    FLEET_SERVICE_ACCOUNT_PASSWORD: CANARIES.serviceAccountPassword,
  };
}

async function waitForWorkers(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) {
    await waitFor(
      () => {
        if (w.child.exitCode !== null) throw new Error(`a worker exited:\n${w.output()}`);
        return Promise.resolve(/worker polling/.test(w.output()));
      },
      'both workers poll',
      90_000
    );
  }
}

void describe('secrets canary', () => {
  let dir: string;
  let server: DevServer | undefined;
  const workers: WorkerProcess[] = [];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-canary-'));
    server = await startDevServer({
      port: await freePort(),
      dbFile: path.join(dir, 'temporal.db'),
      logFile: path.join(dir, 'server.log'),
      log: () => undefined,
    });
  });
  after(async () => {
    await Promise.all(workers.map(stopWorker));
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  void it('finds no password, key or token in history, logs, CLI output or the database', async () => {
    assert.ok(server);
    const spec = testFleet(2, { policy: SAFE_POLICY });
    const labState = path.join(dir, 'lab-state.json');
    estateFor(spec).save(labState);
    const env: NodeJS.ProcessEnv = {
      ...secretsEnv(server),
      FLEET_RUNNER: 'lab',
      FLEET_LAB_STATE: labState,
    };
    workers.push(startWorker('main.ts', env), startWorker('ad.ts', env));
    await waitForWorkers(workers);
    assert.match(workers[0].output(), /payloads encrypted/);

    const file = writeFleetFile(spec);
    const cliOutputs: string[] = [];
    const cli = async (args: string[], cliEnv = env) => {
      const result = await runCli(args, cliEnv);
      cliOutputs.push(result.stdout, result.stderr);
      assert.equal(result.code, 0, `fleet ${args.join(' ')}: ${result.stderr}`);
      return result;
    };
    await cli(['onboard', file, '--as', 'carol', '--wait']);
    const status = await cli(['status', spec.fleetId, '--json']);
    const servers = (JSON.parse(status.stdout) as FleetView).servers;
    assert.deepEqual(
      Object.values(servers).map((s) => s.phase),
      ['onboarded', 'onboarded']
    );
    await cli(['report', spec.fleetId]);
    await cli(['report', spec.fleetId, '--format', 'json']);

    // The production runner over real pwsh: no Windows host here, so the steps fail (the scripts' Windows
    // calls do not exist), which is the path most likely to carry a secret into an error message.
    const tools =
      process.platform === 'win32'
        ? null
        : await ensurePowerShellTools({ required: process.env.CI === 'true', log: () => undefined });
    let realFleet: string | undefined;
    if (tools) {
      const real = testFleet(1, { policy: SAFE_POLICY });
      realFleet = real.fleetId;
      const realEnv: NodeJS.ProcessEnv = {
        ...quietToolEnv(secretsEnv(server)),
        FLEET_RUNNER: 'powershell',
        NODE_POWERSHELL: REAL_PWSH_WRAPPER,
        REAL_PWSH: tools.pwsh,
      };
      const realWorkers = [startWorker('main.ts', realEnv), startWorker('ad.ts', realEnv)];
      workers.push(...realWorkers);
      await waitForWorkers(realWorkers);
      await cli(['onboard', writeFleetFile(real), '--as', 'carol'], realEnv);
      const settled = await waitFor(
        async () => {
          const { stdout } = await cli(['status', real.fleetId, '--json'], realEnv);
          const phases = Object.values((JSON.parse(stdout) as FleetView).servers).map((s) => s.phase);
          return phases.every((p) => SETTLED.includes(p)) && phases;
        },
        'the real-pwsh fleet settles',
        180_000
      );
      console.log(`real-pwsh fleet settled: ${settled.join(', ')}`);
      await cli(['report', real.fleetId], realEnv);
      await cli(['cancel', real.fleetId], realEnv);
    } else {
      console.error('\n!!! SECRETS CANARY: no pwsh, so the production-runner part did not run\n');
    }

    // History as stored: read without the codec, so it must be ciphertext and hold no canary.
    const connection = await Connection.connect({ address: server.address });
    const found: string[] = [];
    try {
      const raw = new Client({ connection, namespace: server.namespace });
      const histories = [
        ...(await rawFleetHistories(raw, spec.fleetId, 2)),
        ...(realFleet ? await rawFleetHistories(raw, realFleet, 1) : []),
      ];
      for (const h of histories) {
        assert.ok(h.payloads.length > 0);
        for (const p of h.payloads) assert.equal(metadataText(p, 'encoding'), ENCRYPTED_ENCODING, h.workflowId);
        found.push(...canariesIn(`the history of ${h.workflowId}`, h.bytes));
      }
    } finally {
      await connection.close();
    }

    await Promise.all(workers.map(stopWorker));
    found.push(...workers.flatMap((w, i) => canariesIn(`worker ${i} output`, w.output())));
    found.push(...canariesIn('CLI output', cliOutputs.join('\n')));
    found.push(...canariesIn('the lab state', fs.readFileSync(labState)));

    // Stopped, so the server's write-ahead log is checkpointed; every file it left is searched.
    await server.stop();
    server = undefined;
    const serverFiles = fs.readdirSync(dir).filter((f) => f.startsWith('temporal.db') || f === 'server.log');
    assert.ok(serverFiles.includes('temporal.db'));
    const database = fs.readFileSync(path.join(dir, 'temporal.db'));
    // The search is meaningful: the database holds the fleet (workflow ids are not encrypted).
    assert.ok(database.includes(spec.servers[0].fqdn), 'the database file holds this fleet');
    for (const f of serverFiles) found.push(...canariesIn(f, fs.readFileSync(path.join(dir, f))));

    assert.deepEqual(found, []);
  });
});

void describe('secrets and the programs scripts start', () => {
  void it('passes none of the canaries to programs a script runs (production runner, real pwsh)', async (t) => {
    const tools =
      process.platform === 'win32'
        ? null
        : await ensurePowerShellTools({ required: process.env.CI === 'true', log: () => undefined });
    if (!tools) {
      t.skip('no pwsh here: the real-pwsh runner tests say so loudly');
      return;
    }
    const previous = process.env.NODE_POWERSHELL;
    delete process.env.NODE_POWERSHELL; // it would override the runner's executable
    // Every secret of the workers' environment, as runnerFromEnv would see it.
    const runner = new NodePowerShellRunner({
      executable: REAL_PWSH_WRAPPER,
      env: {
        ...quietToolEnv(process.env),
        ...secretsEnv({ address: '127.0.0.1:1', namespace: 'default' }),
        REAL_PWSH: tools.pwsh,
        REAL_PWSH_SCENARIO: 'ChildEnv',
        REAL_PWSH_CANARY: 'visible-to-children',
      },
      poolSize: 1,
      timeoutMs: 60_000,
    });
    try {
      const envelope = await runner.run({
        script: 'Set-CbtHardening',
        mode: 'plan',
        params: { Level: 'Strict' },
        target: { host: 'worker', onBehalfOf: 'exch01.corp.example' },
      });
      // The stand-in answers the script's WSMan read with what `env`, a program it started, saw.
      const childEnv = String((envelope.before as { level: string }).level);
      assert.match(childEnv, /^REAL_PWSH_CANARY=visible-to-children$/m, 'the script really ran env');
      assert.deepEqual(canariesIn('the environment of a program the script started', childEnv), []);
      assert.doesNotMatch(
        childEnv,
        /^(FLEET_CODEC_KEY|TEMPORAL_API_KEY|FLEET_ADMIN_PASSWORD|FLEET_SERVICE_ACCOUNT_PASSWORD)/m
      );
    } finally {
      await runner.close();
      if (previous !== undefined) process.env.NODE_POWERSHELL = previous;
    }
  });
});
