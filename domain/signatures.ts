/**
 * Signed decisions: what an approver signs, how a public key from the fleet file is read, and the
 * checks a workflow makes before it records a decision. Pure and deterministic (no Node APIs, no
 * clock of its own) so the workflow sandbox can run it: `@noble/curves` is plain JavaScript.
 */
import type { ed25519 as Ed25519 } from '@noble/curves/ed25519.js';
import type { z } from 'zod';
import { lazySchema } from './lazy-schema';

let curve: typeof Ed25519 | undefined;
/**
 * The curve, loaded on first use: the workflow sandbox evaluates a workflow's modules for every
 * workflow, and building the curve's tables costs milliseconds that only a signed decision needs.
 */
function ed25519(): typeof Ed25519 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
  curve ??= (require('@noble/curves/ed25519.js') as { ed25519: typeof Ed25519 }).ed25519;
  return curve;
}

/** How long a signature stays good, measured against the workflow clock: older ones are refused as expired. */
export const SIGNATURE_WINDOW_MS = 30 * 60_000;
/** A signer's clock may run a little ahead of the workflow's. */
export const SIGNATURE_CLOCK_SKEW_MS = 5 * 60_000;

/** Said wherever a fleet without signed approvals is reported (status, report, the Web UI's details). */
export const UNSIGNED_NOTE =
  'approvals: unsigned (a lab): decisions are not verified against approver keys, and the requester is self-asserted';

export const signatureSchema = lazySchema((z) =>
  z.strictObject({
    /** ISO time the approver signed at (their clock). */
    at: z.iso.datetime(),
    /** Random per decision, so the same decision cannot be sent twice. */
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, { error: 'nonce: 16 to 64 letters, digits, - or _' }),
    /** Ed25519 signature of `signedText(...)`, base64. */
    value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, { error: 'value: a base64 Ed25519 signature (88 characters)' }),
  })
);
export type DecisionSignature = z.output<typeof signatureSchema>;

/**
 * What a decision signs. Every field that gives the decision its meaning, in a fixed order, so a
 * signature for one server, change, text or decision cannot be moved to another.
 */
export type SignedFields =
  | {
      kind: 'change';
      fleetId: string;
      server: string;
      changeId: string;
      changeText: string;
      decision: 'approve' | 'reject';
      signer: string;
      reason: string;
    }
  | {
      kind: 'fleet-kind';
      fleetId: string;
      riskKind: string;
      servers: 'all' | string[];
      decision: 'approve' | 'reject';
      signer: string;
      reason: string;
    }
  | {
      kind: 'operator';
      fleetId: string;
      server: string;
      action: string;
      signer: string;
      reason: string;
    };

export function signedText(fields: SignedFields, at: string, nonce: string): string {
  const body =
    fields.kind === 'change'
      ? [fields.server, fields.changeId, fields.changeText, fields.decision]
      : fields.kind === 'fleet-kind'
        ? [fields.riskKind, fields.servers, fields.decision]
        : [fields.server, fields.action];
  return JSON.stringify([
    'exchange-fleet-decision/1',
    fields.kind,
    fields.fleetId,
    ...body,
    fields.signer,
    fields.reason,
    at,
    nonce,
  ]);
}

// --- base64 without Buffer or atob (neither is guaranteed in the workflow sandbox) ---
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

export function fromBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return undefined;
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    value = (value << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 255);
    }
  }
  return Uint8Array.from(out);
}

function readSshString(blob: Uint8Array, at: number): { bytes: Uint8Array; next: number } | undefined {
  if (at + 4 > blob.length) return undefined;
  const length = ((blob[at] << 24) | (blob[at + 1] << 16) | (blob[at + 2] << 8) | blob[at + 3]) >>> 0;
  if (at + 4 + length > blob.length) return undefined;
  return { bytes: blob.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

/**
 * A public key as the fleet file gives it: 32 raw bytes in base64, or an OpenSSH line
 * `ssh-ed25519 AAAA... comment`. Returns the raw key in base64, or why it cannot be used.
 */
export function parsePublicKey(text: string): { ok: true; key: string } | { ok: false; problem: string } {
  const words = text.trim().split(/\s+/);
  if (words[0] === 'ssh-ed25519') {
    const blob = words[1] === undefined ? undefined : fromBase64(words[1]);
    const type = blob && readSshString(blob, 0);
    const key = blob && type && readSshString(blob, type.next);
    if (!type || !key || new TextDecoder().decode(type.bytes) !== 'ssh-ed25519' || key.bytes.length !== 32) {
      return { ok: false, problem: 'the ssh-ed25519 line does not hold an Ed25519 key' };
    }
    return { ok: true, key: toBase64(key.bytes) };
  }
  if (/^ssh-|^ecdsa-/.test(words[0])) {
    return { ok: false, problem: `${words[0]} keys are not supported: use an Ed25519 key (ssh-keygen -t ed25519)` };
  }
  const raw = words.length === 1 ? fromBase64(words[0]) : undefined;
  if (!raw || raw.length !== 32) {
    return {
      ok: false,
      problem: 'not an Ed25519 public key: give an "ssh-ed25519 AAAA..." line or the 32-byte key in base64',
    };
  }
  return { ok: true, key: toBase64(raw) };
}

export function verifySignature(publicKeyBase64: string, text: string, signatureBase64: string): boolean {
  const key = fromBase64(publicKeyBase64);
  const signature = fromBase64(signatureBase64);
  if (!key || key.length !== 32 || !signature || signature.length !== 64) return false;
  try {
    return ed25519().verify(signature, new TextEncoder().encode(text), key);
  } catch {
    return false;
  }
}

/** Signs with a 32-byte Ed25519 seed (the CLI's side; the seed never leaves the CLI process). */
export function signText(seed: Uint8Array, text: string): string {
  return toBase64(ed25519().sign(new TextEncoder().encode(text), seed));
}

export function publicKeyOfSeed(seed: Uint8Array): string {
  return toBase64(ed25519().getPublicKey(seed));
}

/**
 * Signatures checked per workflow task (one instant of the workflow clock). A check takes a few
 * milliseconds of pure JavaScript; thousands of well-formed forgeries in one task would hold the
 * workflow thread past the SDK's deadlock limit (2 s), so beyond this many the rest are refused unchecked.
 */
export const VERIFICATIONS_PER_TASK = 20;

export class VerificationBudget {
  private instant = Number.NaN;
  private used = 0;
  constructor(private readonly limit = VERIFICATIONS_PER_TASK) {}
  /** Takes one check at workflow time `now`; false when this task's checks are spent. */
  take(now: number): boolean {
    if (now !== this.instant) {
      this.instant = now;
      this.used = 0;
    }
    this.used += 1;
    return this.used <= this.limit;
  }
}

/** How a workflow checks signatures: its fleet, whether it requires them, and the approvers' keys. */
export interface SignaturePolicy {
  approvals: 'signed' | 'unsigned';
  fleetId: string;
  /** Person id → raw Ed25519 public key, base64. */
  keys: Readonly<Record<string, string>>;
}

/**
 * Why a signed message is refused (unsigned, no key for the signer, expired, from the future,
 * replayed, wrongly signed), or null when it may be recorded. `now` is the workflow's clock;
 * `usedNonces` the nonces of decisions already taken.
 */
export function signatureRefusal(
  policy: SignaturePolicy,
  fields: SignedFields,
  signature: DecisionSignature | undefined,
  now: number,
  usedNonces: ReadonlySet<string>,
  budget: VerificationBudget
): string | null {
  if (policy.approvals === 'unsigned') return null;
  if (!signature) {
    return `unsigned decision: fleet ${policy.fleetId} takes only signed decisions (fleet approve --key, or fleet sign-decision for the Web UI)`;
  }
  const key = policy.keys[fields.signer];
  if (!key) return `${fields.signer} has no public key in fleet ${policy.fleetId}: their decisions cannot be verified`;
  const signedAt = Date.parse(signature.at);
  if (now - signedAt > SIGNATURE_WINDOW_MS) {
    return `expired signature: signed at ${signature.at}, more than ${SIGNATURE_WINDOW_MS / 60_000} minutes before the workflow received it; sign again`;
  }
  if (signedAt - now > SIGNATURE_CLOCK_SKEW_MS) {
    return `signature dated ${signature.at}, in the future of the workflow's clock: check the signer's clock`;
  }
  if (usedNonces.has(signature.nonce)) return `replayed decision: nonce ${signature.nonce} was already used`;
  if (!budget.take(now)) {
    return `too many signed messages at once (more than ${VERIFICATIONS_PER_TASK} in one workflow task): not checked; send it again`;
  }
  if (!verifySignature(key, signedText(fields, signature.at, signature.nonce), signature.value)) {
    return `wrong signature: it does not match ${fields.signer}'s key and this exact decision (fleet, server, change, text, decision, reason, time)`;
  }
  return null;
}
