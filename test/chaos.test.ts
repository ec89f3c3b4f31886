/**
 * Kills and restarts lose nothing and apply nothing twice. First the lab state file the worker
 * processes share (FLEET_LAB_STATE): concurrent processes lose no update, and a lock left by a killed
 * process is taken over. Then a small version of `npm run chaos` on the suite's server: a lab fleet
 * onboarded by the real worker entry points as separate processes while the main worker is SIGKILLed
 * three times and the AD worker once (each restarted), against the same fleet undisturbed. (The dev
 * server's own stop and start is left to `npm run chaos`, which owns its server.)
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import type { ScriptCall } from '../domain/scripts';
import type { FleetStatus } from '../domain/status';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { NodePowerShellRunner } from '../powershell/node-powershell-runner';
import { workflowBundleFromEnv } from '../workers/workflow-bundle';
import {
  appliedTwice,
  callsOf,
  chaosEstate,
  chaosFleet,
  failedWorkflowTasks,
  fleetResult,
  killAtRandomMoments,
  newLabFile,
  outcomes,
  runFleet,
  seededRandom,
  startChaosFleet,
} from '../scripts/chaos';
import { tag, temporalAddress, testEnv, withWorkers, type TestEnv } from './support/temporal';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-chaos-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function snapshotCall(fqdn: string): ScriptCall {
  return {
    script: 'Get-OnboardingSnapshot',
    mode: 'plan',
    params: { Fqdn: fqdn, ServiceAccount: 'CORP\\monosync_svc' },
    target: { host: 'exchange', fqdn },
  };
}

/** A process that makes `calls` lab calls through the shared file, on hosts of its own. */
function labProcess(file: string, name: string, calls: number): Promise<number | null> {
  const script = `
    const { LabEstate } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'lab', 'estate.ts'))});
    const estate = LabEstate.shared(process.argv[1]);
    for (let i = 0; i < ${calls}; i++) {
      const call = JSON.parse(${JSON.stringify(JSON.stringify(snapshotCall('HOST')))}.split('HOST').join('${name}' + (i % 5) + '.corp.example'));
      estate.execute(call);
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, file], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.once('exit', (status) => resolve(status)));
}

describe('the lab state file worker processes share', () => {
  it('loses no update while several processes change it at once', async () => {
    const file = path.join(dir, 'concurrent.json');
    const processes = 4;
    const calls = 40;
    const statuses = await Promise.all(Array.from({ length: processes }, (_, i) => labProcess(file, `p${i}n`, calls)));
    assert.deepEqual(statuses, Array(processes).fill(0));
    const { total } = callsOf(LabEstate.load(file));
    assert.equal(total, processes * calls, 'every call of every process is counted');
    assert.equal(fs.existsSync(`${file}.lock`), false, 'the lock is released');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.claim')),
      [],
      'no temporary or claim file is left behind'
    );
  });

  it('takes over a lock its killed holder left behind', () => {
    const file = path.join(dir, 'stale.json');
    LabEstate.create().save(file);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: Number(gone.stdout), token: 'killed-holder' }));
    const estate = LabEstate.shared(file);
    estate.execute(snapshotCall('stale01.corp.example'));
    assert.equal(LabEstate.load(file).counters('stale01.corp.example')['Get-OnboardingSnapshot']?.calls, 1);
    assert.equal(fs.existsSync(`${file}.lock`), false);
  });

  it('is changed under its lock by the fake pwsh too: two pwsh processes answering at once lose no call', async () => {
    const file = path.join(dir, 'pwsh.json');
    LabEstate.create().save(file);
    const runner = new NodePowerShellRunner({
      executable: path.join(PROJECT_ROOT, 'test', 'fixtures', 'fake-pwsh', 'pwsh'),
      credentials: null,
      serviceAccountCredential: null,
      env: { ...process.env, LAB_STATE_FILE: file },
      poolSize: 2,
      timeoutMs: 120_000,
    });
    const calls = 24;
    try {
      // Four hosts, so the runner's per-host session limit keeps both pwsh processes busy.
      await Promise.all(Array.from({ length: calls }, (_, i) => runner.run(snapshotCall(`pwsh${i % 4}.corp.example`))));
    } finally {
      await runner.close();
    }
    assert.equal(callsOf(LabEstate.load(file)).total, calls, 'every call of both pwsh processes is counted');
  });

  it('counts each change the lab applies, per host and step', () => {
    const estate = LabEstate.create();
    const fqdn = 'count01.corp.example';
    const call: ScriptCall = {
      script: 'Set-CbtHardening',
      mode: 'apply',
      params: { Level: 'Strict' },
      target: { host: 'exchange', fqdn },
    };
    estate.execute(call);
    estate.execute(call);
    assert.deepEqual(estate.applications()[fqdn], { 'Set-CbtHardening': 1 }, 'the second apply changes nothing');
    assert.deepEqual(appliedTwice(estate), []);
  });
});

describe('chaos: worker processes killed while a fleet runs', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('ends every server as an undisturbed run does, applies nothing twice and fails no workflow task', async () => {
    const servers = 8;
    const seed = 5;

    // Undisturbed: the same fleet (other names) with in-process workers.
    const calmSpec = chaosFleet(`chaos-calm-${tag()}`, servers, `c${tag()}`);
    const calmEstate = chaosEstate(calmSpec, seed);
    const calmFleet: FleetStatus = await withWorkers(env, new LabRunner(calmEstate), async () =>
      fleetResult(await startChaosFleet(env.client, env.taskQueue, calmSpec), 60_000)
    );
    assert.equal(calmFleet.done, true);
    assert.deepEqual(calmFleet.counts.byPhase, { onboarded: servers }, 'the undisturbed run onboards all');
    const calmCalls = callsOf(calmEstate);
    assert.ok(calmCalls.ad > 0, 'the AD worker has work');

    // Disturbed: separate main and AD worker processes sharing a lab file, killed at random moments.
    const spec = chaosFleet(`chaos-${tag()}`, servers, `k${tag()}`);
    const labFile = newLabFile(path.join(dir, 'fleet'), spec, seed);
    const random = seededRandom(seed);
    let finished = false;
    let restartedWorkerSaid = '';
    const stormy = await runFleet(env.client, {
      address: await temporalAddress(),
      taskQueue: `${env.taskQueue}-chaos`,
      spec,
      labFile,
      ...(process.env.FLEET_TEST_WORKFLOW_BUNDLE ? { workflowBundle: process.env.FLEET_TEST_WORKFLOW_BUNDLE } : {}),
      deadlineMs: 300_000,
      disturb: async ({ main, ad, progress }) => {
        const done = (): boolean => finished;
        await Promise.all([
          killAtRandomMoments({
            worker: main,
            kills: 3,
            progress,
            expectedCalls: calmCalls.total,
            count: (c) => c.total,
            random,
            finished: done,
          }),
          killAtRandomMoments({
            worker: ad,
            kills: 1,
            progress,
            expectedCalls: calmCalls.ad,
            count: (c) => c.ad,
            random,
            finished: done,
          }),
        ]);
        await main.current.ready;
        restartedWorkerSaid = main.current.output;
      },
    }).finally(() => (finished = true));

    assert.equal(stormy.mainKills, 3, 'the main worker was killed three times while the fleet ran');
    if (process.env.FLEET_TEST_WORKFLOW_BUNDLE) {
      assert.match(restartedWorkerSaid, /prebuilt workflow bundle/, 'a restarted worker loads the bundle, no bundling');
    }
    assert.equal(stormy.adKills, 1, 'the AD worker was killed once while the fleet ran');
    assert.equal(stormy.fleet.done, true);
    assert.deepEqual(outcomes(spec, stormy.fleet, stormy.estate), outcomes(calmSpec, calmFleet, calmEstate));
    assert.deepEqual(appliedTwice(stormy.estate), [], 'no change applied twice');
    assert.deepEqual(await failedWorkflowTasks(env.client, spec), [], 'no workflow task failed');
    assert.deepEqual(await failedWorkflowTasks(env.client, calmSpec), []);
  });
});

describe('a prebuilt workflow bundle for the worker entry points (FLEET_WORKFLOW_BUNDLE)', () => {
  it('is none when the variable is unset: the worker bundles at start', () => {
    assert.deepEqual(workflowBundleFromEnv({}), {});
  });

  it('refuses a file that is not there, naming the variable', () => {
    assert.throws(
      () => workflowBundleFromEnv({ FLEET_WORKFLOW_BUNDLE: path.join(dir, 'no-such-bundle.js') }),
      /FLEET_WORKFLOW_BUNDLE.*no such file/s
    );
  });

  it('is the named file, by its absolute path', () => {
    const file = path.join(dir, 'bundle.js');
    fs.writeFileSync(file, '// a bundle');
    const relative = path.relative(process.cwd(), file);
    assert.deepEqual(workflowBundleFromEnv({ FLEET_WORKFLOW_BUNDLE: relative }), {
      workflowBundle: { codePath: file },
    });
  });
});
