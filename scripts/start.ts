/**
 * `npm start`: the embedded default. Starts (or reuses) the Temporal dev server with its Web UI,
 * runs the workers in this process on the lab estate, onboards examples/fleet.yaml and prints each
 * server's progress, the UI links and every pending approval with the command that gives it.
 *
 *   npm start                 keep running after the fleet is done (Ctrl-C stops everything)
 *   npm start -- --once       approve as the example fleet's approver, wait until done, exit
 *   npm start -- --fresh-lab  forget the lab estate (servers start un-onboarded again)
 *   npm start -- --file other.yaml [--key my-key | --ssh-agent]   a fleet file of your own; a signed one
 *                             needs the requester's key, and its approvers approve with theirs (no --once)
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readEnv } from '../config/environment';
import { devServerTarget } from '../config/temporal-client';
import { connectClientAndWorkers } from '../config/temporal-workers';
import { startDevServer } from '../devserver/dev-server';
import { PROJECT_ROOT, TEMPORAL_DIR } from '../devserver/temporal-cli';
import { TASK_QUEUE, fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import type { FleetSpec } from '../domain/fleet';
import type { FleetStatus, ServerPhase } from '../domain/status';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { exampleEstate } from '../lab/scenarios';
import { replaceStateFile } from '../lab/state-file';
import { currentPerson, fleetListUrl, workflowUrl } from '../client/connect';
import { CliError, usageError } from '../client/cli-error';
import { FleetFileError, readFleetFile } from '../client/fleet-file';
import { signedRequest } from '../client/commands/sign-request';
import { keyFileOf } from '../client/signing-keys';
import type { RequestSignature } from '../domain/request-signature';
import { decideChangeUpdate, fleetStatusQuery, serverStatusQuery } from '../workflows/messages';
import { createAdWorker, createOnboardingWorkers } from '../workers/create-workers';
import { statusTable } from '../client/views';
import { fleetClosed, serversWaiting, serverStatuses, startFleetWorkflow } from '../client/fleet-handles';
import { parseArgsOrExit } from './cli-args';

const { values: opts } = parseArgsOrExit('npm start', {
  options: {
    once: { type: 'boolean', default: false },
    'fresh-lab': { type: 'boolean', default: false },
    file: { type: 'string', default: path.join(PROJECT_ROOT, 'examples', 'fleet.yaml') },
    key: { type: 'string' },
    'ssh-agent': { type: 'boolean', default: false },
  },
});

/**
 * A signed fleet's request carries its requester's signature, as `fleet onboard --key` makes it. `--once`
 * approves as someone else, which signed approvals exist to prevent, so it is for unsigned (lab) fleets.
 */
async function requestSignatureFor(spec: FleetSpec, requestedBy: string): Promise<RequestSignature | undefined> {
  if (spec.approvals !== 'signed') return undefined;
  if (opts.once) {
    throw usageError(
      `${opts.file} says approvals: signed: --once cannot approve for its approvers; leave out --once and approve with each approver's key (npm run fleet -- approve … --key), or use a fleet with approvals: unsigned on the lab`
    );
  }
  const keys = { key: opts.key, sshAgent: opts['ssh-agent'] };
  if (keyFileOf(keys.key) === undefined && !keys.sshAgent) {
    throw usageError(
      `${opts.file} says approvals: signed: sign the request as ${requestedBy} with --key <private key file> or --ssh-agent (the key the fleet file lists for ${requestedBy})`
    );
  }
  // Signed and checked as `fleet onboard --key` does it, so a wrong key exits 2 here, naming why.
  return signedRequest(spec, requestedBy, keys);
}

// The workers' INFO lines (bundling, state changes) would bury the fleet's progress.
Runtime.install({ logger: new DefaultLogger('WARN') });

const PORT = 7233;
const UI_PORT = 8233;
const LAB_FILE = path.join(TEMPORAL_DIR, 'lab-state.json');

/**
 * The lab estate in LAB_FILE, changed by every call under the file's lock and replaced atomically
 * (lab/state-file.ts), as worker processes share it: a worker of another process on the same file
 * (FLEET_LAB_STATE) loses no update to this one, and a kill of this process loses at most one call.
 */
function sharedEstate(spec: FleetSpec): LabEstate {
  if (!opts['fresh-lab'] && fs.existsSync(LAB_FILE)) {
    console.log(`lab estate: ${path.relative(PROJECT_ROOT, LAB_FILE)} (kept from the last run; --fresh-lab resets it)`);
  } else {
    console.log('lab estate: a fresh simulated estate for the example fleet');
    replaceStateFile(LAB_FILE, JSON.stringify(exampleEstate(spec).toJSON()));
  }
  return LabEstate.shared(LAB_FILE);
}

async function main(): Promise<void> {
  // Before anything starts: a bad key ring (FLEET_CODEC_*) stops here, naming the variable.
  const env = readEnv();
  const spec = readFleetFile(opts.file);
  const requestedBy = currentPerson();
  const approver = spec.approvers.find((a) => a !== requestedBy);
  const requestSignature = await requestSignatureFor(spec, requestedBy);
  const keyOption = spec.approvals === 'signed' ? ' --key <their key file>' : '';
  const server = await startDevServer({ port: PORT, uiPort: UI_PORT, dbFile: 'dev.db', log: (l) => console.log(l) });
  const uiUrl = server.uiUrl ?? 'http://localhost:8233';
  const estate = sharedEstate(spec);
  const runner = new LabRunner(estate, { latencyMs: () => 80 + Math.floor(Math.random() * 120) });
  // With FLEET_CODEC_* set, the workers and this client encrypt every payload, as `npm run worker` and `fleet` do.
  const temporal = await connectClientAndWorkers(devServerTarget(env, server));
  const { client } = temporal;
  const wiring = { ...temporal.workers, runner, taskQueue: TASK_QUEUE };
  const workers = [...(await createOnboardingWorkers(wiring)), await createAdWorker(wiring)];
  const running = workers.map((w) => w.run());

  let stopping = false;
  const shutdown = async (code: number): Promise<never> => {
    if (stopping) process.exit(code);
    stopping = true;
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await runner.close();
    await temporal.close();
    await server.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));

  const workflowId = fleetWorkflowId(spec.fleetId);
  const { started } = await startFleetWorkflow(client, TASK_QUEUE, spec, requestedBy, requestSignature);
  console.log(
    started
      ? `\nstarted fleet ${spec.fleetId} (${spec.servers.length} servers) as ${requestedBy}`
      : `\nfleet ${spec.fleetId} is still running from an earlier start: following it`
  );
  console.log(`  Web UI:  ${uiUrl}`);
  console.log(`  fleet:   ${workflowUrl(uiUrl, server.namespace, workflowId)}`);
  console.log(`  servers: ${fleetListUrl(uiUrl, server.namespace, spec.fleetId)}`);
  console.log(`  schedules and more: ${uiUrl}/namespaces/${server.namespace}/schedules\n`);
  if (temporal.workers.payloadCodecs.length) {
    console.log(
      `  payloads are encrypted (FLEET_CODEC_*): to read them in the Web UI, run npm run fleet -- codec-server --ui-origin ${uiUrl} and set the UI's Codec Server to it\n`
    );
  }
  if (spec.approvals === 'unsigned') {
    console.log(
      `  approvals are unsigned in this demo (${opts.file} says approvals: unsigned); a real fleet gives each approver a key and approves with --key\n`
    );
  }

  const phases = new Map<string, ServerPhase>();
  const shown = new Set<string>();
  let status: FleetStatus;
  for (;;) {
    status = await client.workflow.getHandle(workflowId).query(fleetStatusQuery);
    for (const [fqdn, phase] of Object.entries(status.servers)) {
      if (phases.get(fqdn) === phase) continue;
      phases.set(fqdn, phase);
      console.log(`${new Date().toISOString().slice(11, 19)}  ${fqdn.padEnd(24)} ${phase}`);
    }
    for (const fqdn of await serversWaiting(client, spec.fleetId)) {
      const s = await client.workflow.getHandle(serverWorkflowId(fqdn)).query(serverStatusQuery);
      for (const p of s.pendingApprovals) {
        if (shown.has(p.change.id)) continue;
        shown.add(p.change.id);
        console.log(`          approval needed: ${p.change.text}`);
        console.log(`            why: ${p.change.reason}`);
        console.log(`            safer: ${p.change.saferAlternative}`);
        console.log(
          `            approve: npm run fleet -- approve ${spec.fleetId} ${p.change.id} --as ${approver ?? '<approver>'}${keyOption} --reason "..."`
        );
        console.log(
          `            or in the Web UI: ${workflowUrl(uiUrl, server.namespace, serverWorkflowId(fqdn))} → Workflow actions → Send an Update "decideChange"`
        );
        if (opts.once && approver) {
          await client.workflow.getHandle(serverWorkflowId(fqdn)).executeUpdate(decideChangeUpdate, {
            args: [
              {
                changeId: p.change.id,
                decision: 'approve',
                approver,
                reason: 'npm start --once: demo approval on the lab',
              },
            ],
          });
          console.log(`            approved as ${approver} (--once)`);
        }
      }
      if (s.awaitingOperator && !shown.has(`${fqdn}/operator`)) {
        shown.add(`${fqdn}/operator`);
        console.log(
          `          operator needed at ${s.awaitingOperator.step}: ${s.awaitingOperator.error.type}: ${s.awaitingOperator.error.message}`
        );
        console.log(`            npm run fleet -- retry|skip|abort ${spec.fleetId} ${fqdn}${keyOption} --reason "..."`);
      }
    }
    const closed = await fleetClosed(client, spec.fleetId);
    if (status.done || closed) {
      if (closed && closed !== 'COMPLETED') console.log(`the fleet workflow ended ${closed.toLowerCase()}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  console.log(`\n${statusTable(status, await serverStatuses(client, status))}`);
  const failed = Object.values(status.servers).filter((p) => p === 'failed' || p === 'aborted').length;
  console.log(
    `fleet ${spec.fleetId} done: ${Object.entries(status.counts.byPhase)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}`
  );
  console.log(`full report: npm run fleet -- report ${spec.fleetId}`);
  if (opts.once) await shutdown(failed > 0 ? 1 : 0);
  console.log(`\nthe dev server, UI (${uiUrl}) and workers keep running; Ctrl-C stops them`);
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  // Bad input (fleet file, options, keys) exits 2, as the fleet CLI does; anything else 1.
  process.exit(err instanceof CliError ? err.exitCode : err instanceof FleetFileError ? 2 : 1);
});
