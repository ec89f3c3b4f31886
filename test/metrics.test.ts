/**
 * The worker's Prometheus endpoint, end to end: `npm run worker`'s entry point started as its own
 * process with FLEET_METRICS_ADDRESS (a runtime is created once per process, so it cannot share this
 * test's), a small lab fleet on the real dev server, and `/metrics` scraped: the SDK's metrics are there,
 * and the product's own (servers by phase, approvals pending, step failures by type) carry the right
 * labels and values as the fleet moves.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STEP_FAILURES_METRIC } from '../activities/metrics';
import { freePort } from '../devserver/dev-server';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import { metricsBindAddress } from '../workers/metrics';
import { APPROVALS_PENDING_METRIC, SERVER_PHASE_METRIC } from '../workflows/metrics';
import { decideChangeUpdate, resolveStepUpdate } from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { waitForPending, waitForStatus } from './support/server-status';
import { FAST_RETRY, startFleet, temporalAddress, testEnv, testFleet, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, the lines this test reads: `name{label="value",...} number`. */
function parseMetrics(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v.replace(/\\(.)/g, '$1')])
    );
    return [{ name: m[1], labels, value: Number(m[3]) }];
  });
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `more than one ${name} sample for ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('metrics from the environment', () => {
  it('are off when neither variable is set, and bind where the environment says', () => {
    assert.equal(metricsBindAddress({}), undefined);
    assert.equal(metricsBindAddress({ FLEET_METRICS_PORT: '9464' }), '0.0.0.0:9464');
    assert.equal(metricsBindAddress({ FLEET_METRICS_ADDRESS: '127.0.0.1:9465' }), '127.0.0.1:9465');
  });

  it('refuse a bad port, an address without a port, and both variables at once', () => {
    assert.throws(() => metricsBindAddress({ FLEET_METRICS_PORT: '70000' }), /FLEET_METRICS_PORT/);
    assert.throws(() => metricsBindAddress({ FLEET_METRICS_ADDRESS: 'localhost' }), /FLEET_METRICS_ADDRESS.*host:port/);
    assert.throws(
      () => metricsBindAddress({ FLEET_METRICS_ADDRESS: '127.0.0.1:99999' }),
      /FLEET_METRICS_ADDRESS.*1-65535/
    );
    assert.throws(
      () => metricsBindAddress({ FLEET_METRICS_PORT: '9464', FLEET_METRICS_ADDRESS: '127.0.0.1:9465' }),
      /not both/
    );
  });
});

describe('a worker with FLEET_METRICS_ADDRESS serves Prometheus metrics', () => {
  let env: TestEnv;
  let worker: ChildProcess | undefined;
  let workerOutput = '';
  let metricsUrl: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-metrics-'));

  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill('SIGINT');
      await exited;
    }
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    return parseMetrics(await res.text());
  };

  /** Scrapes until `check` holds; the meter records a workflow's values when its activation completes. */
  const scrapeUntil = (check: (s: Sample[]) => boolean, what: string): Promise<Sample[]> =>
    waitFor(
      async () => {
        const samples = await scrape();
        return check(samples) ? samples : undefined;
      },
      what,
      60_000
    ).catch(async (err: unknown) => {
      const last = (await scrape()).filter((s) => s.name.startsWith('monosync_'));
      throw new Error(`${(err as Error).message}\nproduct samples: ${JSON.stringify(last)}\nworker: ${workerOutput}`);
    });

  it('with the SDK metrics and the product’s servers by phase, approvals pending and step failures', async () => {
    const spec = testFleet(2, { policy: ONE_APPROVAL_POLICY, settings: { stepRetry: FAST_RETRY } });
    const [waiting, stuck] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec);
    // One transient failure the retry rides out, and one permanent failure that waits for an operator.
    estate.injectFault({ kind: 'error', code: '0x80338012', host: waiting, times: 1 });
    estate.injectFault({ kind: 'error', code: 'ADIdentityNotFound', host: stuck, script: 'Get-OnboardingSnapshot' });
    const labFile = path.join(dir, 'lab-state.json');
    estate.save(labFile);

    const address = `127.0.0.1:${await freePort()}`;
    metricsUrl = `http://${address}/metrics`;
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', 'main.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: await temporalAddress(),
        TEMPORAL_TASK_QUEUE: env.taskQueue,
        FLEET_RUNNER: 'lab',
        FLEET_LAB_STATE: labFile,
        FLEET_METRICS_ADDRESS: address,
      },
    });
    // If this process ends without after() (the test runner killing the file), take the worker along.
    const child = worker;
    process.once('exit', () => child.kill('SIGKILL'));
    worker.stdout?.on('data', (d: Buffer) => (workerOutput += d.toString()));
    worker.stderr?.on('data', (d: Buffer) => (workerOutput += d.toString()));

    // The exporter listens from the runtime's creation, before the worker has bundled its workflows.
    await waitFor(() => scrape().catch(() => undefined), `the worker serves ${metricsUrl}`, 60_000);

    const fleet = await startFleet(env, spec, 'carol');
    const server = (fqdn: string) => env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const wildcard = changeId(waiting, 'setTrustedHosts', 'trusted-hosts-wildcard');
    await waitForPending(server(waiting), wildcard);
    await waitForStatus(server(stuck), (s) => s.phase === 'awaiting-operator', 60_000);

    const fleetLabels = { fleet: spec.fleetId };
    const phase = (samples: Sample[], fqdn: string, p: string) =>
      valueOf(samples, SERVER_PHASE_METRIC, { ...fleetLabels, server: fqdn, phase: p });
    const waitingNow = await scrapeUntil(
      (s) => phase(s, waiting, 'awaiting-approval') === 1 && phase(s, stuck, 'awaiting-operator') === 1,
      'both servers show their waiting phase'
    );

    // The SDK's own metrics, under its prefix, labelled with this worker's task queue.
    assert.ok(
      waitingNow.some((s) => s.name.startsWith('temporal_') && s.labels.task_queue === env.taskQueue),
      'SDK metrics for this task queue'
    );
    assert.ok(
      waitingNow.some((s) => s.name === 'temporal_workflow_completed' || s.name.startsWith('temporal_activity_')),
      'workflow or activity metrics of the SDK'
    );

    // Servers by phase: each server counts once, in the phase it is in.
    assert.equal(phase(waitingNow, waiting, 'running'), 0, 'the phase it left reads 0');
    assert.equal(phase(waitingNow, stuck, 'running'), 0);
    const inPhase = (samples: Sample[], p: string) =>
      samples
        .filter((s) => s.name === SERVER_PHASE_METRIC && s.labels.fleet === spec.fleetId && s.labels.phase === p)
        .reduce((sum, s) => sum + s.value, 0);
    assert.equal(inPhase(waitingNow, 'awaiting-approval'), 1);
    assert.equal(inPhase(waitingNow, 'awaiting-operator'), 1);
    const phaseSample = waitingNow.find((s) => s.name === SERVER_PHASE_METRIC && s.labels.server === waiting);
    // The SDK adds its tags to the product's metrics, in the TypeScript SDK's spelling (camelCase).
    assert.equal(phaseSample?.labels.workflowType, 'onboardServer');
    assert.equal(phaseSample?.labels.taskQueue, env.taskQueue);

    // Approvals pending: the change that waits, none on the server that waits for an operator.
    assert.equal(valueOf(waitingNow, APPROVALS_PENDING_METRIC, { ...fleetLabels, server: waiting }), 1);
    assert.equal(valueOf(waitingNow, APPROVALS_PENDING_METRIC, { ...fleetLabels, server: stuck }), 0);

    // Step failures by type: the transient one (retried) and the permanent one, each by its step.
    const failures = (samples: Sample[], labels: Record<string, string>) =>
      samples
        .filter(
          (s) =>
            s.name === STEP_FAILURES_METRIC &&
            Object.entries({ ...fleetLabels, ...labels }).every(([k, v]) => s.labels[k] === v)
        )
        .reduce((sum, s) => sum + s.value, 0);
    assert.equal(failures(waitingNow, { type: 'WinRMUnavailable', retryable: 'true' }), 1);
    assert.equal(
      failures(waitingNow, { type: 'ADObjectNotFound', retryable: 'false', activityType: 'preflight' }),
      1,
      JSON.stringify(waitingNow.filter((s) => s.name === STEP_FAILURES_METRIC))
    );

    // Decisions move the gauges: approved, the server finishes; aborted, the other one ends.
    await server(waiting).executeUpdate(decideChangeUpdate, {
      args: [{ changeId: wildcard, decision: 'approve', approver: 'alice', reason: 'CAB-1' }],
    });
    await server(stuck).executeUpdate(resolveStepUpdate, {
      args: [{ action: 'abort', operator: 'alice', reason: 'decommissioned' }],
    });
    await fleet.result();
    const done = await scrapeUntil(
      (s) => phase(s, waiting, 'onboarded') === 1 && phase(s, stuck, 'aborted') === 1,
      'both servers show their final phase'
    );
    assert.equal(phase(done, waiting, 'awaiting-approval'), 0);
    assert.equal(phase(done, stuck, 'awaiting-operator'), 0);
    assert.equal(inPhase(done, 'awaiting-approval') + inPhase(done, 'awaiting-operator'), 0);
    assert.equal(valueOf(done, APPROVALS_PENDING_METRIC, { ...fleetLabels, server: waiting }), 0);
  });
});
