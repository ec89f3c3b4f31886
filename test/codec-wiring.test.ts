/**
 * The one way processes connect (config/temporal-client.ts, config/temporal-workers.ts) carries the
 * payload codec to every client and worker made through it: `npm start`'s path (devServerTarget →
 * connectClientAndWorkers → the workers it wires) with FLEET_CODEC_* set leaves only ciphertext in the
 * raw history, and without them plain JSON (so the first check could fail). A history recorded that
 * way and written as `npm run record-histories` writes it (payloads decoded) replays with no key, where
 * the raw one cannot.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { ENCRYPTED_ENCODING } from '../config/codec';
import { readEnv } from '../config/environment';
import { devServerTarget } from '../config/temporal-client';
import { connectClientAndWorkers, type ClientAndWorkers } from '../config/temporal-workers';
import { fleetWorkflowId } from '../domain/ids';
import type { FleetSpec } from '../domain/fleet';
import { startFleetWorkflow } from '../client/fleet-handles';
import { LabRunner } from '../lab/lab-runner';
import { decodePayloadsInPlace } from '../scripts/record-histories';
import { createAdWorker, createOnboardingWorkers } from '../workers/create-workers';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { metadataText, rawFleetHistories, type RawHistory } from './support/raw-history';
import { temporalAddress, testEnv, testFleet, workflowSource, type TestEnv } from './support/temporal';

const KEY_ID = 'wiring-1';
const CODEC_VARS = { FLEET_CODEC_KEY: randomBytes(32).toString('base64'), FLEET_CODEC_KEY_ID: KEY_ID };

/** Connects as `npm start` does, with `vars` as the environment, and runs `spec` to its end on the lab. */
async function runFleetAsNpmStart(
  vars: NodeJS.ProcessEnv,
  spec: FleetSpec
): Promise<{ temporal: ClientAndWorkers; rawHistories: (raw: TestEnv) => Promise<RawHistory[]> }> {
  const server = { address: await temporalAddress(), namespace: 'default' };
  const temporal = await connectClientAndWorkers(devServerTarget(readEnv(vars), server));
  const source = workflowSource();
  const wiring = {
    ...temporal.workers,
    runner: new LabRunner(estateFor(spec)),
    taskQueue: `wiring-${randomBytes(4).toString('hex')}`,
    ...('workflowBundle' in source ? source : {}),
  };
  const [main, fleet] = await createOnboardingWorkers(wiring);
  const ad = await createAdWorker(wiring);
  const result = await main.runUntil(
    fleet.runUntil(
      ad.runUntil(async () => {
        const { handle } = await startFleetWorkflow(temporal.client, wiring.taskQueue, spec, 'carol');
        return handle.result();
      })
    )
  );
  assert.ok(
    Object.values(result.servers).every((phase) => phase === 'onboarded'),
    JSON.stringify(result.servers)
  );
  return { temporal, rawHistories: (raw) => rawFleetHistories(raw.client, spec.fleetId, spec.servers.length) };
}

/** The fleet file's own values, which appear nowhere in history when payloads are encrypted. */
const fleetFileValues = (spec: FleetSpec): string[] => [spec.serviceAccount.split('\\')[1], spec.monosyncServers[0]];

void describe("npm start's connection helper and the payload codec", () => {
  let raw: TestEnv;
  const opened: ClientAndWorkers[] = [];
  before(async () => {
    raw = await testEnv();
  });
  after(async () => {
    for (const temporal of opened) await temporal.close();
    await raw.close();
  });

  void it('with FLEET_CODEC_KEY set, the raw history holds only ciphertext tagged with its key id', async () => {
    const spec = testFleet(2, { policy: SAFE_POLICY });
    const run = await runFleetAsNpmStart({ ...CODEC_VARS }, spec);
    opened.push(run.temporal);
    const histories = await run.rawHistories(raw);
    assert.equal(histories.length, 3, 'the fleet and its two servers');
    for (const h of histories) {
      assert.ok(h.payloads.length > 2, `${h.workflowId} has payloads`);
      for (const p of h.payloads) {
        assert.equal(metadataText(p, 'encoding'), ENCRYPTED_ENCODING, `${h.workflowId}: a payload is not encrypted`);
        assert.equal(metadataText(p, 'encryption-key-id'), KEY_ID);
      }
      for (const clear of fleetFileValues(spec)) {
        assert.ok(!h.bytes.includes(clear), `${h.workflowId}: "${clear}" is in the raw history`);
      }
    }

    // As `npm run record-histories` stores it: decoded, it replays without the key; raw, it does not.
    const workflowId = fleetWorkflowId(spec.fleetId);
    const replayable = await raw.client.workflow.getHandle(workflowId).fetchHistory();
    await decodePayloadsInPlace(replayable, run.temporal.workers.payloadCodecs);
    await Worker.runReplayHistory(workflowSource(), replayable, workflowId);
    const encrypted = await raw.client.workflow.getHandle(workflowId).fetchHistory();
    await assert.rejects(Worker.runReplayHistory(workflowSource(), encrypted, workflowId), /binary\/encrypted/);
  });

  void it('without FLEET_CODEC_* the same path stores plain JSON payloads', async () => {
    const spec = testFleet(1, { policy: SAFE_POLICY });
    const run = await runFleetAsNpmStart({}, spec);
    opened.push(run.temporal);
    const histories = await run.rawHistories(raw);
    const encodings = new Set(histories.flatMap((h) => h.payloads.map((p) => metadataText(p, 'encoding'))));
    assert.ok(encodings.has('json/plain'), `encodings seen: ${[...encodings].join(', ')}`);
    assert.ok(!encodings.has(ENCRYPTED_ENCODING));
    const fleetHistory = histories.find((h) => h.workflowId === fleetWorkflowId(spec.fleetId));
    assert.ok(fleetHistory?.bytes.includes(fleetFileValues(spec)[1]), 'the fleet file is readable in the history');
  });
});
