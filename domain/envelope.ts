/** The envelope every step script prints: one JSON document on stdout, the same for every step. */
import { z } from 'zod';
import { SCRIPT_NAMES, type ScriptName } from './steps';

const SCRIPT_MODES = ['plan', 'apply', 'rollback'] as const;
export type ScriptMode = (typeof SCRIPT_MODES)[number];

export const ENVELOPE_SCHEMA_ID = 'monosync.onboard.step/v1';

const scriptErrorSchema = z.object({
  /** Advisory class from the script; the TypeScript side classifies by `code` (failures.ts). */
  class: z.enum(['transient', 'permanent', 'policy', 'precondition', 'auth']),
  /** Stable identifier: a WinRM/Win32 code (0x80338012, 5, 8344) or one of our names (CertNoPrivateKey). */
  code: z.string(),
  message: z.string(),
  fqid: z.string().optional(),
  exceptionType: z.string().optional(),
});
export type ScriptError = z.infer<typeof scriptErrorSchema>;

export const envelopeSchema = z.object({
  schema: z.literal(ENVELOPE_SCHEMA_ID),
  script: z.enum(SCRIPT_NAMES as [ScriptName, ...ScriptName[]]),
  target: z.string(),
  mode: z.enum(SCRIPT_MODES),
  ok: z.boolean(),
  /** The state found before this call already met the desired state. */
  compliant: z.boolean(),
  /** This call changed something; in plan mode: would change. */
  changed: z.boolean(),
  before: z.unknown(),
  /** The state after the call; in plan mode: the predicted state. */
  after: z.unknown(),
  evidence: z.record(z.string(), z.unknown()).default({}),
  warnings: z.array(z.string()).default([]),
  error: scriptErrorSchema.optional(),
});
export type StepEnvelope = z.infer<typeof envelopeSchema>;
