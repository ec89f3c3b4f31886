/**
 * `npm run bench [-- --servers 5000 --max-parallel 32 --ad 8 --latency 5]`: onboards a large lab fleet
 * on its own dev server and checks what must hold at scale, printing the measurements:
 *   - servers in flight (as the lab sees them) never above maxParallel,
 *   - calls against the domain controllers never above the AD budget,
 *   - every run of the fleet workflow (continue-as-new chain) below 10,000 history events,
 *   - every server onboarded, and no fleet workflow task failed or timed out (retried silently otherwise).
 * Exits 1 when a check fails. Times are printed, never asserted.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { freePort, startDevServer } from '../devserver/dev-server';
import { TEMPORAL_DIR } from '../devserver/temporal-cli';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import { validateFleet } from '../domain/fleet';
import { fleetWorkflowId } from '../domain/ids';
import { RISK_KINDS } from '../domain/steps';
import { LabRunner } from '../lab/lab-runner';
import { largeFleetEstate } from '../lab/scenarios';
import { decideKindUpdate, fleetStatusQuery } from '../workflows/messages';
import { createAdWorker, createMainWorker } from '../workers/create-workers';
import { startFleetWorkflow } from '../client/fleet-handles';

Runtime.install({ logger: new DefaultLogger('WARN') });

const { values: o } = parseArgs({
  options: {
    servers: { type: 'string', default: '5000' },
    'max-parallel': { type: 'string', default: '32' },
    ad: { type: 'string', default: '8' },
    latency: { type: 'string', default: '5' },
  },
});
const servers = Number(o.servers);
const maxParallel = Number(o['max-parallel']);
const adBudget = Number(o.ad);
const latencyMs = Number(o.latency);
const HISTORY_LIMIT = 10_000;

async function main(): Promise<void> {
  const result = validateFleet({
    fleet: `bench-${servers}-${Date.now().toString(36)}`,
    serviceAccount: 'CORP\\monosync_svc',
    domain: 'corp.example',
    monosyncServers: ['10.20.30.41', '10.20.30.42'],
    approvers: ['alice', 'bob'],
    settings: { maxParallel, maxFailurePercent: 5 },
    servers: Array.from({ length: servers }, (_, i) => `bx${String(i + 1).padStart(5, '0')}.corp.example`),
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const spec = result.spec;

  const server = await startDevServer({
    port: await freePort(),
    dbFile: path.join(TEMPORAL_DIR, `bench-${process.pid}.db`),
    log: (l) => console.log(l),
  });
  const estate = largeFleetEstate(spec);
  const runner = new LabRunner(estate, { latencyMs });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const wiring = {
    connection: native,
    namespace: 'default',
    runner,
    taskQueue: 'bench',
    maxActivities: 64,
    adConcurrency: adBudget,
  };
  const workers = [await createMainWorker(wiring), await createAdWorker(wiring)];
  const failures: string[] = [];
  try {
    await Promise.all([
      ...workers.map((w) => w.run()),
      (async () => {
        try {
          const started = Date.now();
          const { handle } = await startFleetWorkflow(client, 'bench', spec, 'bench');
          // The manual's risky values, approved once for the whole fleet by a second person.
          for (const kind of RISK_KINDS) {
            await handle.executeUpdate(decideKindUpdate, {
              args: [{ kind, servers: 'all', decision: 'approve', approver: 'alice', reason: 'benchmark on the lab' }],
            });
          }
          let last = '';
          for (;;) {
            const status = await handle.query(fleetStatusQuery).catch(() => undefined);
            if (status) {
              const line = `${((Date.now() - started) / 1000).toFixed(0)}s run ${status.run}: ${JSON.stringify(status.counts.byPhase)} in flight (lab) ${runner.stats.inFlightServers}, max ${runner.stats.maxInFlightServers}; AD max ${runner.stats.maxAdInFlight}`;
              if (line !== last) console.log(line);
              last = line;
            }
            const desc = await handle.describe();
            if (desc.status.name !== 'RUNNING' && desc.status.name !== 'CONTINUED_AS_NEW') break;
            await new Promise((r) => setTimeout(r, 5000));
          }
          const final = await handle.result();
          const seconds = (Date.now() - started) / 1000;
          const onboarded = final.counts.byPhase.onboarded ?? 0;
          console.log(
            `\n${servers} servers in ${seconds.toFixed(0)} s (${(servers / seconds).toFixed(1)} servers/s, ${(runner.stats.calls / seconds).toFixed(0)} script calls/s)`
          );

          const runs: Array<{ runId: string; events: number }> = [];
          for await (const wf of client.workflow.list({ query: `WorkflowId = "${fleetWorkflowId(spec.fleetId)}"` })) {
            const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
            const problems = workflowTaskProblems(history);
            if (problems.length > 0) failures.push(`fleet run ${wf.runId}: ${problems.join('; ')}`);
            runs.push({ runId: wf.runId, events: wf.historyLength });
          }
          console.log(
            `fleet workflow runs: ${runs.length}; history events per run: ${runs.map((r) => r.events).join(', ')}`
          );
          console.log(
            `servers in flight (lab): max ${runner.stats.maxInFlightServers} (maxParallel ${maxParallel}); AD calls at once: max ${runner.stats.maxAdInFlight} (budget ${adBudget}); sessions per host: max ${runner.stats.maxSessionsPerHost}`
          );
          if (onboarded !== servers)
            failures.push(`${onboarded} of ${servers} servers onboarded: ${JSON.stringify(final.counts.byPhase)}`);
          if (runner.stats.maxInFlightServers > maxParallel)
            failures.push(`servers in flight reached ${runner.stats.maxInFlightServers} > ${maxParallel}`);
          if (runner.stats.maxAdInFlight > adBudget)
            failures.push(`AD calls at once reached ${runner.stats.maxAdInFlight} > ${adBudget}`);
          const long = runs.filter((r) => r.events >= HISTORY_LIMIT);
          if (long.length > 0)
            failures.push(`fleet runs with ${HISTORY_LIMIT}+ events: ${long.map((r) => r.events).join(', ')}`);
          if (runs.length === 0) failures.push('no fleet workflow runs found in visibility');
        } finally {
          workers.forEach((w) => w.shutdown());
        }
      })(),
    ]);
  } finally {
    await runner.close();
    await connection.close();
    await native.close();
    await server.stop();
  }
  if (failures.length > 0) {
    console.error(`\nBENCHMARK CHECKS FAILED:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\nall checks passed');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
