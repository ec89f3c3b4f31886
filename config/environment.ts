/**
 * Worker and CLI configuration from the environment, validated at the edge. Secrets (API key, TLS
 * key, admin password) are read from files or the environment here and never reach workflow data.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { formatIssues } from '../domain/issues';
import { TASK_QUEUE } from '../domain/ids';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const filePath = z.string().refine((p) => fs.existsSync(p), { error: (i) => `${String(i.input)}: no such file` });

/** Activities one worker runs at once when FLEET_MAX_ACTIVITIES is unset (and for workers wired without an environment). */
export const DEFAULT_MAX_ACTIVITIES = 32;
/** Calls at the domain controllers at once when FLEET_AD_CONCURRENCY is unset: the AD budget (runner/call-budget.ts). */
export const DEFAULT_AD_CONCURRENCY = 8;

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(3).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(TASK_QUEUE),
  /** Turn TLS on with the system's roots (Temporal Cloud with an API key turns it on by itself). */
  TEMPORAL_TLS: flag.optional(),
  TEMPORAL_TLS_CA_PATH: filePath.optional(),
  TEMPORAL_TLS_CERT_PATH: filePath.optional(),
  TEMPORAL_TLS_KEY_PATH: filePath.optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_API_KEY_FILE: filePath.optional(),
  /** `powershell` runs the real scripts over WinRM; `lab` serves them from the simulated estate. */
  FLEET_RUNNER: z.enum(['powershell', 'lab']).default('powershell'),
  /** Lab state file shared by workers and kept across restarts (lab runner only). */
  FLEET_LAB_STATE: z.string().optional(),
  /** Activities one worker runs at once (bounds PowerShell processes). */
  FLEET_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(500).default(DEFAULT_MAX_ACTIVITIES),
  /** Calls at the domain controllers at once: the AD budget. */
  FLEET_AD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(DEFAULT_AD_CONCURRENCY),
  /** Payload encryption (config/codec.ts): a key ring file, or one key and its id; off when none is set. */
  FLEET_CODEC_KEYS_FILE: filePath.optional(),
  FLEET_CODEC_KEY: z.string().min(1).optional(),
  FLEET_CODEC_KEY_ID: z.string().min(1).optional(),
});

export type WorkerEnv = z.output<typeof envSchema>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n  ${formatIssues(parsed.error.issues).join('\n  ')}`);
  }
  if (parsed.data.TEMPORAL_TLS_CERT_PATH && !parsed.data.TEMPORAL_TLS_KEY_PATH) {
    throw new Error(
      'invalid environment: TEMPORAL_TLS_CERT_PATH needs TEMPORAL_TLS_KEY_PATH (the client key for mTLS)'
    );
  }
  return parsed.data;
}

export interface ConnectionSettings {
  address: string;
  tls?:
    | boolean
    | { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } };
  apiKey?: string;
}

/** Connection options for `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export function connectionSettings(env: WorkerEnv): ConnectionSettings {
  const apiKey =
    env.TEMPORAL_API_KEY ??
    (env.TEMPORAL_API_KEY_FILE ? fs.readFileSync(env.TEMPORAL_API_KEY_FILE, 'utf8').trim() : undefined);
  const mtls = env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH;
  const customTls = mtls || env.TEMPORAL_TLS_CA_PATH || env.TEMPORAL_TLS_SERVER_NAME;
  const tls = customTls
    ? {
        ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
        ...(env.TEMPORAL_TLS_CA_PATH ? { serverRootCACertificate: fs.readFileSync(env.TEMPORAL_TLS_CA_PATH) } : {}),
        ...(mtls
          ? {
              clientCertPair: {
                crt: fs.readFileSync(env.TEMPORAL_TLS_CERT_PATH as string),
                key: fs.readFileSync(env.TEMPORAL_TLS_KEY_PATH as string),
              },
            }
          : {}),
      }
    : env.TEMPORAL_TLS;
  return { address: env.TEMPORAL_ADDRESS, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}
