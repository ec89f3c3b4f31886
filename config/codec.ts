/**
 * The payload codec: AES-256-GCM over every payload the workers and the CLI send to Temporal, so
 * history (and the server's database) holds ciphertext instead of fleet files, change texts and
 * results. The key id travels in the payload's metadata; every key in the key ring decrypts, the
 * `current` one encrypts, so a key is rotated by adding a new current key and keeping the old ones
 * until no history needs them. Keys come from FLEET_CODEC_KEYS_FILE or FLEET_CODEC_KEY(+_ID) and are
 * never logged, echoed in errors, or passed to PowerShell. Not imported by workflow code (node:crypto).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import type { WorkerEnv } from './environment';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKeys {
  /** The key id new payloads are encrypted with. */
  current: string;
  keys: ReadonlyMap<string, Buffer>;
}

const keyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'a key id is 1 to 64 letters, digits, ".", "-" or "_"' });
// The message never repeats the value: it is a secret.
const keySchema = z.string().refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, {
  error: 'must be 32 random bytes in base64 (AES-256), e.g. from `openssl rand -base64 32`',
});
const keysFileSchema = z
  .strictObject({ current: keyIdSchema, keys: z.record(keyIdSchema, keySchema) })
  .refine((f) => Object.hasOwn(f.keys, f.current), { error: 'names no key in "keys"', path: ['current'] });

function problems(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ` : '') + i.message).join('; ');
}

/** The key ring the environment configures, or undefined when the codec is off. Errors name the variable. */
export function codecKeysFromEnv(env: WorkerEnv): CodecKeys | undefined {
  const { FLEET_CODEC_KEYS_FILE: file, FLEET_CODEC_KEY: key, FLEET_CODEC_KEY_ID: keyId } = env;
  if (file && (key || keyId)) {
    throw new Error('invalid environment: set FLEET_CODEC_KEYS_FILE or FLEET_CODEC_KEY/FLEET_CODEC_KEY_ID, not both');
  }
  if (file) {
    // JSON.parse's message can quote the file's text, which holds keys: name the problem only, with no cause.
    let raw: unknown;
    let problem: string | undefined;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      problem = err instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    }
    if (problem) throw new Error(`invalid environment: FLEET_CODEC_KEYS_FILE (${file}) ${problem}`);
    const parsed = keysFileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`invalid environment: FLEET_CODEC_KEYS_FILE (${file}): ${problems(parsed.error.issues)}`);
    }
    const keys = new Map(Object.entries(parsed.data.keys).map(([id, k]) => [id, Buffer.from(k, 'base64')]));
    return { current: parsed.data.current, keys };
  }
  if (key === undefined && keyId === undefined) return undefined;
  if (key === undefined) throw new Error('invalid environment: FLEET_CODEC_KEY_ID is set but FLEET_CODEC_KEY is not');
  if (keyId === undefined) {
    throw new Error('invalid environment: FLEET_CODEC_KEY is set but FLEET_CODEC_KEY_ID (its key id) is not');
  }
  const id = keyIdSchema.safeParse(keyId);
  if (!id.success) throw new Error(`invalid environment: FLEET_CODEC_KEY_ID: ${problems(id.error.issues)}`);
  const k = keySchema.safeParse(key.trim());
  if (!k.success) throw new Error(`invalid environment: FLEET_CODEC_KEY: ${problems(k.error.issues)}`);
  return { current: id.data, keys: new Map([[id.data, Buffer.from(k.data, 'base64')]]) };
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const metadataText = (p: Payload, name: string): string | undefined => {
  const value = p.metadata?.[name];
  return value ? Buffer.from(value).toString('utf8') : undefined;
};

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: CodecKeys) {
    if (!ring.keys.has(ring.current)) throw new Error(`codec key ring: current key id "${ring.current}" has no key`);
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.ring.keys.get(this.ring.current) as Buffer;
    return Promise.resolve(
      payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv(CIPHER, key, iv);
        // The key id is authenticated too: a payload relabelled with another id does not decrypt.
        cipher.setAAD(text(this.ring.current));
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: { encoding: text(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: text(this.ring.current) },
          data: sealed,
        };
      })
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // A refusal is a rejected promise, not a synchronous throw, as callers of a codec expect.
    return Promise.resolve().then(() => payloads.map((payload) => this.decodeOne(payload)));
  }

  private decodeOne(payload: Payload): Payload {
    // Payloads written before the codec was turned on stay readable.
    if (metadataText(payload, 'encoding') !== ENCRYPTED_ENCODING) return payload;
    const keyId = metadataText(payload, KEY_ID_METADATA);
    if (keyId === undefined) throw new Error(`an encrypted payload has no ${KEY_ID_METADATA} in its metadata`);
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new Error(
        `a payload is encrypted with key id "${keyId}", which the codec keys do not hold: add that key to FLEET_CODEC_KEYS_FILE's "keys"`
      );
    }
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error(`an encrypted payload (key id "${keyId}") is truncated`);
    const decipher = createDecipheriv(CIPHER, key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(text(keyId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error(`an encrypted payload does not decrypt with key id "${keyId}": wrong key or altered data`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/** The codec the environment configures, as a list for `dataConverter.payloadCodecs`; empty when off. */
export function payloadCodecsFromEnv(env: WorkerEnv): PayloadCodec[] {
  const keys = codecKeysFromEnv(env);
  return keys ? [new AesGcmPayloadCodec(keys)] : [];
}
