/**
 * The CLI's signing keys: an Ed25519 private key file (unencrypted OpenSSH or PKCS#8 PEM) or a key held
 * by ssh-agent. `--key <file>` (else FLEET_APPROVER_KEY_FILE) names a file, `--key ssh-agent:<comment or
 * public key>` or `--ssh-agent` an agent key. A key file is read, used and forgotten in this process;
 * an agent key never leaves the agent. Only signatures are sent.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fleetSpecDigest, requestSignedText, type RequestSignature } from '../domain/request-signature';
import type { FleetSpec } from '../domain/fleet';
import {
  parsePublicKey,
  publicKeyOfSeed,
  signedText,
  signText,
  toBase64,
  type DecisionSignature,
  type SignedFields,
} from '../domain/signatures';
import { CliError } from './cli-error';
import { AgentError, agentIdentities, agentSignEd25519, agentSocket, type AgentIdentity } from './ssh-agent';

/** How a command was told to sign: its --key and --ssh-agent options. */
export interface KeyOptions {
  key?: string;
  sshAgent?: boolean;
}

/** A key to sign with, wherever it is kept. */
export interface Signer {
  /** Where the key is, for messages (a file path, or the agent key's comment). */
  source: string;
  /** The raw Ed25519 public key, base64 (what the fleet file lists). */
  publicKey: string;
  /** An Ed25519 signature of `text` (UTF-8), base64. */
  sign(text: string): Promise<string>;
}

const AGENT_PREFIX = 'ssh-agent:';

/** The key file named by --key, else FLEET_APPROVER_KEY_FILE; undefined when neither is set. */
export function keyFileOf(option: string | undefined): string | undefined {
  return option ?? (process.env.FLEET_APPROVER_KEY_FILE || undefined);
}

function sshString(blob: Buffer, at: number): { bytes: Buffer; next: number } {
  if (at + 4 > blob.length) throw new Error('truncated');
  const length = blob.readUInt32BE(at);
  if (at + 4 + length > blob.length) throw new Error('truncated');
  return { bytes: blob.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

/** The 32-byte seed of an unencrypted OpenSSH `ssh-ed25519` private key. */
function openSshSeed(text: string, file: string): Uint8Array {
  const body = text
    .replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '')
    .replace(/\s+/g, '')
    .trim();
  const blob = Buffer.from(body, 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.subarray(0, magic.length).toString('latin1') !== magic) throw new CliError(`${file}: not an OpenSSH key`, 2);
  let at = magic.length;
  const cipher = sshString(blob, at);
  if (cipher.bytes.toString() !== 'none') {
    throw new CliError(
      `${file}: the key is encrypted with a passphrase; add it to ssh-agent (ssh-add) and use --ssh-agent, or give an unencrypted copy kept private`,
      2
    );
  }
  at = sshString(blob, sshString(blob, cipher.next).next).next; // kdf name, kdf options
  at += 4; // number of keys (one)
  at = sshString(blob, at).next; // public key blob
  const secret = sshString(blob, at).bytes;
  let p = 8; // two check integers
  const type = sshString(secret, p);
  if (type.bytes.toString() !== 'ssh-ed25519') throw new CliError(`${file}: not an Ed25519 key`, 2);
  p = sshString(secret, type.next).next; // public key
  const both = sshString(secret, p).bytes; // seed then public key
  return Uint8Array.from(both.subarray(0, 32));
}

/** Reads the Ed25519 seed from a key file; problems name the file, never its contents. */
export function readPrivateKeySeed(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 2);
  }
  try {
    if (text.includes('BEGIN OPENSSH PRIVATE KEY')) return openSshSeed(text, file);
    const key = createPrivateKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new CliError(`${file}: not an Ed25519 key`, 2);
    const jwk = key.export({ format: 'jwk' });
    return Uint8Array.from(Buffer.from(jwk.d as string, 'base64url'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${file}: not an Ed25519 private key (OpenSSH or PKCS#8 PEM)`, 2);
  }
}

function fileSigner(file: string): Signer {
  const seed = readPrivateKeySeed(file);
  return { source: file, publicKey: publicKeyOfSeed(seed), sign: (text) => Promise.resolve(signText(seed, text)) };
}

/**
 * The agent's Ed25519 key to use: the one `selector` names (its comment or public key), else the one
 * that is `expectedKey` (the signer's key in the fleet file, when the CLI knows it), else the only one.
 */
function chooseAgentKey(keys: AgentIdentity[], selector: string, expectedKey: string | undefined): AgentIdentity {
  const ed25519 = keys.filter((k) => k.ed25519 !== undefined);
  const listed = ed25519.map((k) => k.comment || '(no comment)').join(', ') || 'none';
  if (selector) {
    const asKey = parsePublicKey(selector);
    const found = ed25519.find((k) => (asKey.ok ? k.ed25519 === asKey.key : k.comment === selector));
    if (!found) {
      throw new CliError(
        `--key ${AGENT_PREFIX}${selector}: ssh-agent holds no such Ed25519 key (it holds: ${listed})`,
        2
      );
    }
    return found;
  }
  if (expectedKey) {
    const found = ed25519.find((k) => k.ed25519 === expectedKey);
    if (!found) {
      throw new CliError(
        `ssh-agent holds no Ed25519 key matching your key in the fleet file (it holds: ${listed}): ssh-add your key`,
        2
      );
    }
    return found;
  }
  if (ed25519.length !== 1) {
    throw new CliError(
      ed25519.length === 0
        ? 'ssh-agent holds no Ed25519 key: ssh-add your key (ssh-keygen -t ed25519 makes one)'
        : `ssh-agent holds several Ed25519 keys (${listed}): choose one with --key ${AGENT_PREFIX}<comment or public key>`,
      2
    );
  }
  return ed25519[0];
}

async function agentSigner(selector: string, expectedKey: string | undefined): Promise<Signer> {
  try {
    const socket = agentSocket();
    const identity = chooseAgentKey(await agentIdentities(socket), selector.trim(), expectedKey);
    return {
      source: `ssh-agent key ${identity.comment || identity.ed25519}`,
      publicKey: identity.ed25519 ?? '',
      sign: async (text) => toBase64(await agentSignEd25519(socket, identity, Buffer.from(text, 'utf8'))),
    };
  } catch (err) {
    if (err instanceof AgentError) throw new CliError(err.message, 2);
    throw err;
  }
}

/**
 * The key the options name, or undefined when none is given. `expectedKey` (raw base64) picks the
 * matching agent key when the agent holds several.
 */
export async function signerFrom(opts: KeyOptions, expectedKey?: string): Promise<Signer | undefined> {
  const key = keyFileOf(opts.key);
  if (opts.sshAgent && opts.key !== undefined) throw new CliError('give either --key or --ssh-agent, not both', 2);
  if (opts.sshAgent) return agentSigner('', expectedKey);
  if (key === undefined) return undefined;
  if (key.startsWith(AGENT_PREFIX)) return agentSigner(key.slice(AGENT_PREFIX.length), expectedKey);
  return fileSigner(key);
}

function freshNonce(): string {
  return randomBytes(18).toString('base64url');
}

/** Signs `fields` now with a fresh nonce, with a 32-byte seed (tests, and key files). */
export function signFields(seed: Uint8Array, fields: SignedFields, now = new Date()): DecisionSignature {
  const at = now.toISOString();
  const nonce = freshNonce();
  return { at, nonce, value: signText(seed, signedText(fields, at, nonce)) };
}

/** Signs `fields` now with a fresh nonce, with any signer (key file or ssh-agent). */
export async function signFieldsWith(
  signer: Signer,
  fields: SignedFields,
  now = new Date()
): Promise<DecisionSignature> {
  const at = now.toISOString();
  const nonce = freshNonce();
  return { at, nonce, value: await signer.sign(signedText(fields, at, nonce)) };
}

/** The requester's signature over a request to onboard exactly `spec` (domain/request-signature.ts). */
export async function signRequest(
  signer: Signer,
  spec: FleetSpec,
  requester: string,
  now = new Date()
): Promise<RequestSignature> {
  const at = now.toISOString();
  const nonce = freshNonce();
  const specDigest = fleetSpecDigest(spec);
  return {
    at,
    nonce,
    specDigest,
    value: await signer.sign(requestSignedText(spec.fleetId, requester, specDigest, at, nonce)),
  };
}
