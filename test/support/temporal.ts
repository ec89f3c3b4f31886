/**
 * Test access to the real Temporal dev server: the one `npm test` started (TEMPORAL_ADDRESS), or —
 * when a test file is run on its own — one started here for this process.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../devserver/dev-server';
import { TEMPORAL_DIR } from '../../devserver/temporal-cli';
import { validateFleet, type FleetSpec } from '../../domain/fleet';
import type { onboardFleet } from '../../workflows';
import { startFleetWorkflow } from '../../client/fleet-handles';
import { signerFrom, signRequest } from '../../client/signing-keys';
import { requesterKey } from '../../domain/request-signature';
import { testKeyFileOf } from './approver-keys';
import { createAdWorker, createOnboardingWorkers } from '../../workers/create-workers';
import type { PowerShellRunner } from '../../runner/port';

// Worker state changes at INFO would drown the test report; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

let ownServer: DevServer | undefined;

export async function temporalAddress(): Promise<string> {
  if (process.env.TEMPORAL_ADDRESS) return process.env.TEMPORAL_ADDRESS;
  if (!ownServer) {
    const port = await freePort();
    ownServer = await startDevServer({ port, dbFile: path.join(TEMPORAL_DIR, `test-own-${process.pid}.db`) });
    process.env.TEMPORAL_ADDRESS = ownServer.address;
  }
  return ownServer.address;
}

async function stopOwnServer(): Promise<void> {
  await ownServer?.stop();
  ownServer = undefined;
}

export interface TestEnv {
  client: Client;
  connection: NativeConnection;
  taskQueue: string;
  /** The codecs `client` encodes with, for withWorkers' workers too; none (plain payloads) when absent. */
  payloadCodecs?: PayloadCodec[];
  close(): Promise<void>;
}

export async function testEnv(): Promise<TestEnv> {
  const address = await temporalAddress();
  const clientConnection = await Connection.connect({ address });
  const connection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection: clientConnection, namespace: 'default' }),
    connection,
    taskQueue: `test-${randomBytes(4).toString('hex')}`,
    close: async () => {
      await clientConnection.close();
      await connection.close();
      // A file run on its own started its own server: stop it, or node --test never exits.
      await stopOwnServer();
    },
  };
}

/** The workflow code the tests' workers run: the bundle `npm test` built once, or the sources. */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundlePath = process.env.FLEET_TEST_WORKFLOW_BUNDLE;
  return bundlePath
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: require.resolve('../../workflows') };
}

/** Runs `fn` while a main and an AD worker serve `env.taskQueue` with `runner`. */
export async function withWorkers<T>(
  env: TestEnv,
  runner: PowerShellRunner,
  fn: () => Promise<T>,
  options: { adConcurrency?: number; maxActivities?: number } = {}
): Promise<T> {
  const bundlePath = process.env.FLEET_TEST_WORKFLOW_BUNDLE;
  const wiring = {
    connection: env.connection,
    namespace: 'default',
    runner,
    taskQueue: env.taskQueue,
    payloadCodecs: env.payloadCodecs,
    ...options,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
  };
  const [main, fleet] = await createOnboardingWorkers(wiring);
  const ad: Worker = await createAdWorker(wiring);
  return main.runUntil(fleet.runUntil(ad.runUntil(fn())));
}

/** A short random tag, so fleets and servers of different tests never share workflow ids. */
export function tag(): string {
  return randomBytes(3).toString('hex');
}

/** Step retries short enough for tests: transient faults are retried, permanent ones surface fast. */
export const FAST_RETRY = { initialInterval: '100ms', maximumAttempts: 3 };

/** A valid fleet spec with unique fleet id and server names; `overrides` are merged into the file. */
export function testFleet(servers: number, overrides: Record<string, unknown> = {}): FleetSpec {
  const t = tag();
  const doc = {
    fleet: `test-${t}`,
    serviceAccount: 'CORP\\monosync_svc',
    domain: 'corp.example',
    monosyncServers: ['10.20.30.41', '10.20.30.42'],
    approvers: ['alice', 'bob'],
    // Tests about approvals sign (test/support/approver-keys.ts); the rest run as a lab.
    approvals: 'unsigned',
    settings: { stepRetry: FAST_RETRY },
    servers: Array.from({ length: servers }, (_, i) => `x${t}${String(i + 1).padStart(2, '0')}.corp.example`),
    ...overrides,
  };
  const result = validateFleet(doc);
  if (!result.ok) throw new Error(`test fleet is invalid: ${result.problems.join('; ')}`);
  return result.spec;
}

/**
 * Starts the fleet workflow the way `fleet onboard` does, on this test's task queue. A signed fleet's
 * request is signed with the requester's key when test/support/approver-keys.ts made it.
 */
export async function startFleet(
  env: TestEnv,
  spec: FleetSpec,
  requestedBy: string
): Promise<WorkflowHandle<typeof onboardFleet>> {
  const publicKey = spec.approvals === 'signed' ? requesterKey(spec, requestedBy) : undefined;
  const keyFile = publicKey && testKeyFileOf(publicKey);
  const signer = keyFile ? await signerFrom({ key: keyFile }) : undefined;
  const requestSignature = signer ? await signRequest(signer, spec, requestedBy) : undefined;
  return (await startFleetWorkflow(env.client, env.taskQueue, spec, requestedBy, requestSignature)).handle;
}
