/**
 * Signing decisions in the CLI: reads the approver's Ed25519 private key (OpenSSH or PKCS#8 PEM file,
 * from --key or FLEET_APPROVER_KEY_FILE), signs, and forgets it. The key never leaves this process:
 * only the signature is sent. `fleet sign-decision` prints a signed `decideChange` for the Web UI.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decisionInputSchema, type DecisionInput } from '../../domain/approvals';
import { formatIssues } from '../../domain/issues';
import { parseChangeId } from '../../domain/risk';
import { signedText, signText, type DecisionSignature, type SignedFields } from '../../domain/signatures';
import { CliError } from '../cli-error';
import type { CliContext } from '../connect';
import { serverStatus } from '../fleet-handles';

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
      `${file}: the key is encrypted with a passphrase; give an unencrypted copy kept private (ssh-agent is not supported yet)`,
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

/** Signs `fields` now with a fresh nonce. */
export function signFields(seed: Uint8Array, fields: SignedFields, now = new Date()): DecisionSignature {
  const at = now.toISOString();
  const nonce = randomBytes(18).toString('base64url');
  return { at, nonce, value: signText(seed, signedText(fields, at, nonce)) };
}

/** A signed decision on one pending change, built from the server's own record of the change's text. */
export async function signedChangeDecision(
  ctx: CliContext,
  fleetId: string,
  input: DecisionInput,
  keyFile: string
): Promise<DecisionInput> {
  const fqdn = parseChangeId(input.changeId)?.fqdn;
  if (!fqdn) throw new CliError(`"${input.changeId}" is not a change id (form <fqdn>/<step>/<kind>)`, 2);
  const server = await serverStatus(ctx.client, fqdn);
  const change = server.pendingApprovals.find((p) => p.change.id === input.changeId)?.change;
  if (!change) throw new CliError(`${input.changeId}: not pending on ${fqdn}; see \`fleet approvals ${fleetId}\``, 1);
  const signature = signFields(readPrivateKeySeed(keyFile), {
    kind: 'change',
    fleetId,
    server: fqdn,
    changeId: input.changeId,
    changeText: change.text,
    decision: input.decision,
    signer: input.approver,
    reason: input.reason,
  });
  return { ...input, signature };
}

/** `fleet sign-decision`: prints the signed JSON to paste as the `decideChange` signal in the Web UI. */
export async function signDecisionCommand(
  ctx: CliContext,
  fleetId: string,
  changeId: string,
  opts: { decision: 'approve' | 'reject'; approver: string; reason?: string; key?: string }
): Promise<number> {
  const keyFile = keyFileOf(opts.key);
  if (!keyFile) throw new CliError('give the private key: --key <file> or FLEET_APPROVER_KEY_FILE', 2);
  const parsed = decisionInputSchema.safeParse({
    changeId,
    decision: opts.decision,
    approver: opts.approver,
    reason: opts.reason ?? '',
  });
  if (!parsed.success) throw new CliError(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`, 2);
  console.log(JSON.stringify(await signedChangeDecision(ctx, fleetId, parsed.data, keyFile)));
  return 0;
}
