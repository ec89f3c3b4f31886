/**
 * `npm run record-histories`: records the workflow histories test/histories-replay.test.ts replays on
 * every `npm test`, so a change to workflow code that would break fleets in flight (a
 * non-determinism error on a deploy) fails the suite instead. It runs, on a dev server of its own
 * and the lab:
 * - onboarding with approvals and an operator retry: two servers each need an approval (TrustedHosts
 *   '*'), one of them first fails permanently (a certificate without its key) and waits until an
 *   operator retries it;
 * - a certificate rotation where one server fails verification and is rolled back;
 * - a fleet that continues as new (the smallest history budget), every run of it;
 * - a fleet in batches (workflows/fleet-batches.ts): the fleet's run and its first batch's;
 * - two servers whose delegation step runs beside their own steps (fleetProtocol 3): one approved, one
 *   whose host step failed permanently while the delegation check was out, retried by an operator.
 * `npm run record-histories -- --only batches` (or `--only overlap`) records one of the last two alone and
 * keeps the other files.
 * Each history is written as `{ workflowId, runId, workflowType, history }` under test/histories/,
 * with a README saying which release recorded them. With the payload codec configured (FLEET_CODEC_*)
 * the workers and the client encrypt as in production, and each history is written with its payloads
 * decoded, as a worker holding the key sees it: the files replay without the key. Re-record after a
 * deliberate, versioned change to workflow code, and commit the new files with it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import * as prettier from 'prettier';
import { readEnv } from '../config/environment';
import { devServerTarget } from '../config/temporal-client';
import { connectClientAndWorkers } from '../config/temporal-workers';
import { freePort, startDevServer } from '../devserver/dev-server';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import type { FleetSpec } from '../domain/fleet';
import { fleetBatchWorkflowId, fleetWorkflowId, rotationWorkflowId, serverWorkflowId } from '../domain/ids';
import type { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { decideChangeUpdate, decideKindUpdate, resolveStepUpdate, serverStatusQuery } from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY } from '../test/support/fleet-files';
import { FAST_RETRY, startFleet, type TestEnv, testFleet, withWorkers } from '../test/support/temporal';
import { executeRotation } from '../test/support/rotation';
import { historyToStoredJson } from '../test/support/stored-history';
import { waitFor } from '../test/support/wait';

export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test', 'histories');

/** One recorded run, as stored in test/histories/<name>.json. */
interface RecordedRun {
  name: string;
  workflowId: string;
  runId?: string;
}

const isPayload = (value: unknown): value is Payload =>
  typeof value === 'object' &&
  value !== null &&
  (value as Payload).data instanceof Uint8Array &&
  typeof (value as Payload).metadata === 'object';

/**
 * Replaces every payload in `node` by what `codecs` decode it to (the last codec decodes first, as the
 * SDK does). A payload the codec did not encrypt (a search attribute) comes back unchanged.
 */
export async function decodePayloadsInPlace(node: unknown, codecs: readonly PayloadCodec[]): Promise<void> {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
  const fields = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (!isPayload(value)) {
      await decodePayloadsInPlace(value, codecs);
      continue;
    }
    let decoded = [value];
    for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
    fields[key] = decoded[0];
  }
}

async function writeHistory(env: TestEnv, run: RecordedRun): Promise<string> {
  const handle = env.client.workflow.getHandle(run.workflowId, run.runId);
  const description = await handle.describe();
  const history = await handle.fetchHistory();
  // test/histories-replay.test.ts replays with no codec and no key: store what a worker with the key sees.
  await decodePayloadsInPlace(history, env.payloadCodecs ?? []);
  const file = path.join(HISTORIES_DIR, `${run.name}.json`);
  const doc = {
    workflowId: run.workflowId,
    runId: description.runId,
    workflowType: description.type,
    history: historyToStoredJson(history),
  };
  // Formatted as the repository's `prettier --check .` expects, so the lint step passes on them.
  const options = (await prettier.resolveConfig(file)) ?? {};
  fs.writeFileSync(file, await prettier.format(JSON.stringify(doc), { ...options, filepath: file }));
  return file;
}

/**
 * Runs `spec` until it ends, approving every change a server asks for and having an operator retry a server
 * that waits for one (after clearing the estate's faults); throws unless that happened and all were onboarded.
 */
async function approveAndRetryUntilOnboarded(
  env: TestEnv,
  spec: FleetSpec,
  estate: LabEstate,
  runner: LabRunner,
  approvalReason: string
): Promise<void> {
  let operatorRetried = false;
  await withWorkers(env, runner, async () => {
    const fleet = await startFleet(env, spec, 'alice');
    await waitFor(
      async () => {
        for (const { fqdn } of spec.servers) {
          const server = env.client.workflow.getHandle(serverWorkflowId(fqdn));
          const status = await server.query(serverStatusQuery).catch(() => undefined);
          for (const pending of status?.pendingApprovals ?? []) {
            await server.executeUpdate(decideChangeUpdate, {
              args: [{ changeId: pending.change.id, decision: 'approve', approver: 'bob', reason: approvalReason }],
            });
          }
          if (status?.awaitingOperator) {
            estate.clearFaults();
            await server.executeUpdate(resolveStepUpdate, {
              args: [{ action: 'retry', operator: 'dave', reason: 'enrolled a certificate with its key' }],
            });
            operatorRetried = true;
          }
        }
        return (await fleet.describe()).status.name !== 'RUNNING';
      },
      `fleet ${spec.fleetId} ends`,
      300_000
    );
    const result = await fleet.result();
    if (!operatorRetried || Object.values(result.servers).some((p) => p !== 'onboarded')) {
      throw new Error(
        `fleet ${spec.fleetId} did not go as recorded (retried: ${operatorRetried}): ${JSON.stringify(result.servers)}`
      );
    }
  });
}

/** Two servers needing an approval each; the second fails permanently once and an operator retries it. */
async function onboardingWithApprovalsAndRetry(env: TestEnv): Promise<RecordedRun[]> {
  const spec = testFleet(2, {
    policy: ONE_APPROVAL_POLICY,
    settings: { maxFailurePercent: 100, stepRetry: FAST_RETRY },
  });
  const [approved, retried] = spec.servers.map((s) => s.fqdn);
  const estate = estateFor(spec);
  estate.injectFault({ kind: 'error', code: 'CertNoPrivateKey', host: retried, script: 'Set-HttpsListener' });
  await approveAndRetryUntilOnboarded(env, spec, estate, new LabRunner(estate), 'CAB-7');
  return [
    { name: 'onboarding-fleet', workflowId: fleetWorkflowId(spec.fleetId) },
    { name: 'onboarding-server-approved', workflowId: serverWorkflowId(approved) },
    { name: 'onboarding-server-approved-and-retried', workflowId: serverWorkflowId(retried) },
  ];
}

/** One server rotated, one rolled back after its new listener failed verification. */
async function rotationWithRollback(env: TestEnv): Promise<RecordedRun[]> {
  const spec = testFleet(2);
  const [, failing] = spec.servers.map((s) => s.fqdn);
  const estate = estateFor(spec, ['expiring-cert', 'expiring-cert']);
  estate.injectFault({ kind: 'tls-verify-fails', host: failing });
  const workflowId = rotationWorkflowId(spec.fleetId);
  const report = await withWorkers(env, new LabRunner(estate), () => executeRotation(env, spec));
  if (report.results[failing]?.outcome !== 'failed-rolled-back' || report.counts.rotated !== 1) {
    throw new Error(`the rotation did not go as recorded: ${JSON.stringify(report.counts)}`);
  }
  return [{ name: 'rotation-with-rollback', workflowId }];
}

/** A fleet whose history outgrows the smallest budget, so it continues as new; every run is recorded. */
async function fleetThatContinuedAsNew(env: TestEnv): Promise<RecordedRun[]> {
  const spec = testFleet(24, {
    policy: SAFE_POLICY,
    settings: { maxParallel: 4, historyEventBudget: 200, stepRetry: FAST_RETRY },
  });
  const workflowId = fleetWorkflowId(spec.fleetId);
  const result = await withWorkers(env, new LabRunner(estateFor(spec)), async () =>
    (await startFleet(env, spec, 'carol')).result()
  );
  if (result.run < 2) throw new Error('the fleet did not continue as new: raise the server count');
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: wf.runId, startTime: wf.startTime });
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return runs.map((r, i) => ({ name: `continued-fleet-run-${i + 1}`, workflowId, runId: r.runId }));
}

/** A fleet of more servers than its batchSize, with a fleet decision relayed to its batches. */
async function fleetInBatches(env: TestEnv): Promise<RecordedRun[]> {
  const spec = testFleet(24, {
    policy: ONE_APPROVAL_POLICY,
    settings: { maxParallel: 4, batchSize: 10, stepRetry: FAST_RETRY },
  });
  const result = await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
    const fleet = await startFleet(env, spec, 'carol');
    await fleet.executeUpdate(decideKindUpdate, {
      args: [{ kind: 'trusted-hosts-wildcard', servers: 'all', decision: 'approve', approver: 'bob', reason: 'CAB-9' }],
    });
    return fleet.result();
  });
  if (result.batches?.length !== 4 || result.counts.byPhase.onboarded !== 24) {
    throw new Error(`the fleet in batches did not go as recorded: ${JSON.stringify(result.counts)}`);
  }
  return [
    { name: 'batched-fleet', workflowId: fleetWorkflowId(spec.fleetId) },
    { name: 'batched-fleet-batch-1', workflowId: fleetBatchWorkflowId(spec.fleetId, 0) },
  ];
}

/** Delegation beside the host steps: an approval at its turn, and an operator retry while its check was out. */
async function overlappedServers(env: TestEnv): Promise<RecordedRun[]> {
  const spec = testFleet(2, {
    policy: { ...SAFE_POLICY, delegation: 'unconstrained' },
    settings: { maxFailurePercent: 100, stepRetry: FAST_RETRY },
  });
  const [approved, retried] = spec.servers.map((s) => s.fqdn);
  const estate = estateFor(spec);
  estate.injectFault({ kind: 'error', code: 'CertNoPrivateKey', host: retried, script: 'Set-HttpsListener' });
  // Slow DCs: the host steps (and the failure) happen while the delegation check is still out.
  const runner = new LabRunner(estate, { latencyMs: (call) => (call.target.host === 'ad' ? 500 : 5) });
  await approveAndRetryUntilOnboarded(env, spec, estate, runner, 'CAB-8');
  return [
    { name: 'overlapped-server-approved', workflowId: serverWorkflowId(approved) },
    { name: 'overlapped-server-retried', workflowId: serverWorkflowId(retried) },
  ];
}

function release(): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown commit';
  const dirty = git(['status', '--porcelain']) ? ' plus uncommitted changes' : '';
  return `exchange-fleet-onboarding ${version} (tree at ${commit}${dirty})`;
}

async function main(): Promise<void> {
  const only = { batches: fleetInBatches, overlap: overlappedServers }[
    /^--only (batches|overlap)$/.exec(process.argv.slice(2).join(' '))?.[1] ?? ''
  ];
  // A server of its own: recordings never mix with a developer's fleets or a running suite.
  const port = await freePort();
  const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'record-histories-')), 'temporal.db');
  const server = await startDevServer({ port, dbFile });
  const temporal = await connectClientAndWorkers(devServerTarget(readEnv(), server));
  const { payloadCodecs } = temporal.workers;
  const env: TestEnv = {
    client: temporal.client,
    connection: temporal.workers.connection,
    taskQueue: `record-${randomBytes(4).toString('hex')}`,
    payloadCodecs,
    close: () => temporal.close(),
  };
  const codecNote = payloadCodecs.length
    ? 'with the payload codec on (FLEET_CODEC_*), written with every payload decoded so they replay without the key'
    : 'with plain payloads (no FLEET_CODEC_*)';
  console.log(`recording ${codecNote}`);
  try {
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    if (only) {
      const names: string[] = [];
      for (const run of await only(env)) {
        console.log(`wrote ${path.relative(PROJECT_ROOT, await writeHistory(env, run))}`);
        names.push(`\`${run.name}.json\``);
      }
      const option = only === fleetInBatches ? 'batches' : 'overlap';
      fs.appendFileSync(
        path.join(HISTORIES_DIR, 'README.md'),
        `\n${names.join(', ')} recorded by ${release()} on ${new Date().toISOString().slice(0, 10)} with \`npm run record-histories -- --only ${option}\`, ${codecNote}.\n`
      );
      return;
    }
    // Files are overwritten by name; the continued fleet's run count may differ from the last recording.
    for (const old of fs.readdirSync(HISTORIES_DIR)) {
      if (/^continued-fleet-run-\d+\.json$/.test(old)) fs.rmSync(path.join(HISTORIES_DIR, old));
    }
    const runs = [
      ...(await onboardingWithApprovalsAndRetry(env)),
      ...(await rotationWithRollback(env)),
      ...(await fleetThatContinuedAsNew(env)),
      ...(await fleetInBatches(env)),
      ...(await overlappedServers(env)),
    ];
    for (const run of runs) console.log(`wrote ${path.relative(PROJECT_ROOT, await writeHistory(env, run))}`);
    fs.writeFileSync(
      path.join(HISTORIES_DIR, 'README.md'),
      [
        '# Recorded workflow histories',
        '',
        `Recorded by ${release()} on ${new Date().toISOString().slice(0, 10)} with \`npm run record-histories\`, ${codecNote}.`,
        '',
        'test/histories-replay.test.ts replays every `*.json` here against the current workflow code on every',
        '`npm test`: a change that would break fleets in flight fails the suite. Each file is',
        '`{ workflowId, runId, workflowType, history }`, `history` in the form test/support/stored-history.ts reads.',
        'Re-record (and commit) only with a deliberate, versioned workflow change; keep older files that fleets in',
        'flight may still have.',
        '',
      ].join('\n')
    );
  } finally {
    await env.close();
    await server.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
