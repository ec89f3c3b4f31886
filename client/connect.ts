/** One Temporal client per CLI process, configured from the environment like the workers. */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { readEnv, type WorkerEnv } from '../config/environment';
import { connectClient, temporalTarget } from '../config/temporal-client';
import { personSchema } from '../domain/validators';
import { payloadCodecsFromEnv } from '../config/codec';
import { usageError } from './cli-error';

export interface CliContext {
  client: Client;
  env: WorkerEnv;
  uiUrl: string;
  close(): Promise<void>;
}

/** `read()` of the environment, where a bad value is a usage error (exit 2) naming the variable, like a bad argument. */
function fromEnvironment<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
}

/** The environment, validated. */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return fromEnvironment(() => readEnv(env));
}

/** The configured payload codecs (a bad key ring is a usage error). */
export function cliCodecs(env: WorkerEnv): ReturnType<typeof payloadCodecsFromEnv> {
  return fromEnvironment(() => payloadCodecsFromEnv(env));
}

export async function connect(): Promise<CliContext> {
  const env = cliEnv();
  // The same key ring as the workers, or the CLI could neither write inputs they read nor read their results.
  // A bad key ring, or an unreadable TLS or API key file, is a usage error too.
  const target = fromEnvironment(() => temporalTarget(env));
  const { client, close } = await connectClient(target, { connectTimeout: '10s' });
  return { client, env, uiUrl: process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233', close };
}

/** Who is running the CLI: `--as`, else FLEET_USER, else the login name. Validated like approvers. */
export function currentPerson(as?: string): string {
  const raw = as ?? process.env.FLEET_USER ?? os.userInfo().username;
  const parsed = personSchema.safeParse(raw);
  if (!parsed.success) {
    throw usageError(`--as ${JSON.stringify(raw)}: ${parsed.error.issues[0]?.message ?? 'invalid person id'}`);
  }
  return parsed.data;
}

export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function fleetListUrl(uiUrl: string, namespace: string, fleetId: string): string {
  const query = `MonosyncFleet="${fleetId}"`;
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}
