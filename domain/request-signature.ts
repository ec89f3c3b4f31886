/**
 * Signed requests: who started a fleet is proven like an approver is. `fleet onboard --key` signs the
 * fleet id, the requester, a digest of the exact fleet spec, the time and a nonce with the requester's
 * private key; the fleet workflow checks it before it does anything, so the four-eyes rule (an
 * approver is never the requester) compares proven people. Pure and deterministic: no clock of its own
 * (`now` is the workflow's), plain-JavaScript hashing, so the workflow sandbox runs it.
 */
import type { sha256 as Sha256 } from '@noble/hashes/sha2.js';
import type { bytesToHex as BytesToHex } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { lazySchema } from './lazy-schema';
import type { FleetSpec } from './fleet';
import { parseMessage } from './approvals';
import { SIGNATURE_CLOCK_SKEW_MS, SIGNATURE_WINDOW_MS, signatureSchema, verifySignature } from './signatures';
import { personSchema } from './validators';

export const requestSignatureSchema = lazySchema((z) =>
  signatureSchema.extend({
    /** SHA-256 (hex) of the fleet spec's canonical JSON: what exactly was asked for. */
    specDigest: z.string().regex(/^[0-9a-f]{64}$/, { error: 'specDigest: 64 lower-case hex digits (SHA-256)' }),
  })
);
export type RequestSignature = z.output<typeof requestSignatureSchema>;

/** How to sign, said in every refusal that a new signature fixes. */
const HOW_TO_SIGN =
  'start it with `fleet onboard <fleet.yaml> --as <you> --key <your private key file>` (or --ssh-agent)';

/**
 * JSON with object keys sorted and undefined members left out, so the CLI and the workflow (which gets
 * the spec back from its JSON payload) hash the same text for the same spec.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fleetSpecDigest(spec: FleetSpec): string {
  // Loaded here, not with the module: the workflow sandbox evaluates a workflow's modules for every workflow.
  /* eslint-disable @typescript-eslint/no-require-imports -- deferred on purpose, see above */
  const { sha256 } = require('@noble/hashes/sha2.js') as { sha256: typeof Sha256 };
  const { bytesToHex } = require('@noble/hashes/utils.js') as { bytesToHex: typeof BytesToHex };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(spec))));
}

/** What a request signs, in a fixed order (a signature for one fleet, person or spec fits no other). */
export function requestSignedText(
  fleetId: string,
  requester: string,
  specDigest: string,
  at: string,
  nonce: string
): string {
  return JSON.stringify(['exchange-fleet-request/1', fleetId, requester, specDigest, at, nonce]);
}

/**
 * The requester's public key (raw, base64): a requester or an approver of the fleet file with a key.
 * Undefined for anyone else.
 */
export function requesterKey(
  spec: Pick<FleetSpec, 'approverKeys'> & Partial<Pick<FleetSpec, 'requesterKeys'>>,
  requester: string
): string | undefined {
  const keys = { ...spec.approverKeys, ...spec.requesterKeys };
  return Object.prototype.hasOwnProperty.call(keys, requester) ? keys[requester] : undefined;
}

/**
 * Why a request to onboard `spec` is refused, naming the field and the fix, or null when it may start.
 * A fleet with `approvals: unsigned` (a lab) takes any requester as it says it is. `now` is the
 * workflow's clock (or the CLI's, checking before it starts anything).
 */
export function requestRefusal(spec: FleetSpec, requestedBy: unknown, signature: unknown, now: number): string | null {
  if ((spec.approvals ?? 'unsigned') === 'unsigned') return null;
  const person = personSchema.safeParse(requestedBy);
  if (!person.success || person.data !== requestedBy) {
    return `requestedBy: ${JSON.stringify(requestedBy)} is not a person id (lower-case letters, digits, . _ @ -); start the fleet with --as <your name in the fleet file>`;
  }
  const key = requesterKey(spec, person.data);
  if (!key) {
    return `requestedBy: ${person.data} has no public key in fleet ${spec.fleetId}, whose approvals are signed: list them with a key under requesters (or approvers) in the fleet file, or start the fleet as a person listed there with --as`;
  }
  if (signature === undefined || signature === null) {
    return `requestSignature: missing: fleet ${spec.fleetId} takes only requests signed by their requester; ${HOW_TO_SIGN}`;
  }
  const parsed = parseMessage(requestSignatureSchema, signature, 'requestSignature');
  if (!parsed.ok) return `${parsed.refusal}; ${HOW_TO_SIGN}`;
  const s = parsed.value;
  if (s.specDigest !== fleetSpecDigest(spec)) {
    return `requestSignature.specDigest: ${person.data} signed another fleet spec than the one given (the file changed after it was signed); sign this one: ${HOW_TO_SIGN}`;
  }
  const signedAt = Date.parse(s.at);
  if (now - signedAt > SIGNATURE_WINDOW_MS) {
    return `requestSignature.at: expired: signed at ${s.at}, more than ${SIGNATURE_WINDOW_MS / 60_000} minutes before the fleet started; sign again: ${HOW_TO_SIGN}`;
  }
  if (signedAt - now > SIGNATURE_CLOCK_SKEW_MS) {
    return `requestSignature.at: ${s.at} is in the future of the workflow's clock: check the signer's clock and sign again`;
  }
  if (!verifySignature(key, requestSignedText(spec.fleetId, person.data, s.specDigest, s.at, s.nonce), s.value)) {
    return `requestSignature.value: wrong signature: it does not match ${person.data}'s key in the fleet file for this request (fleet, requester, spec, time); sign with ${person.data}'s own key: ${HOW_TO_SIGN}`;
  }
  return null;
}
