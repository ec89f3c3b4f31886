/**
 * The requester's signature on `fleet onboard`: made here with the requester's key (file or
 * ssh-agent), or read from a file that `fleet sign-request` wrote (a person signs, a pipeline starts),
 * and checked with the workflow's own rules before anything is started, so a bad request exits 2 here
 * instead of failing the fleet workflow.
 */
import fs from 'node:fs';
import type { FleetSpec } from '../../domain/fleet';
import { requesterKey, requestRefusal, type RequestSignature } from '../../domain/request-signature';
import { CliError } from '../cli-error';
import { readFleetFile } from '../fleet-file';
import { signerFrom, signRequest, type KeyOptions } from '../signing-keys';

/** A signature file holds one small JSON object; anything larger is not one. */
const MAX_SIGNATURE_FILE_BYTES = 4096;

export interface RequestOptions extends KeyOptions {
  /** A signature `fleet sign-request` wrote, instead of signing here. */
  signature?: string;
}

/** The JSON in a signature file; problems name the file, never its contents. */
function readSignatureFile(file: string): unknown {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_SIGNATURE_FILE_BYTES) {
      throw new CliError(
        `--signature ${file}: not a signature file (a regular file of at most ${MAX_SIGNATURE_FILE_BYTES} bytes from fleet sign-request)`,
        2
      );
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`--signature ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 2);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`--signature ${file}: not JSON; write it with \`fleet sign-request <fleet.yaml> > ${file}\``, 2);
  }
}

/**
 * The signature to start `spec` with, checked as the workflow will check it (exit 2 naming the field
 * otherwise). Undefined for a fleet with `approvals: unsigned`: its requester is self-asserted.
 */
export async function signedRequest(
  spec: FleetSpec,
  requestedBy: string,
  opts: RequestOptions
): Promise<RequestSignature | undefined> {
  if (spec.approvals !== 'signed') return undefined;
  if (opts.signature !== undefined && (opts.key !== undefined || opts.sshAgent)) {
    throw new CliError('give either --signature or a key to sign with (--key, --ssh-agent), not both', 2);
  }
  let signature: RequestSignature | unknown;
  let signedWith = '';
  if (opts.signature !== undefined) {
    signature = readSignatureFile(opts.signature);
    signedWith = ` (signature from ${opts.signature})`;
  } else if (requesterKey(spec, requestedBy) !== undefined) {
    const signer = await signerFrom(opts, requesterKey(spec, requestedBy));
    if (signer) {
      signature = await signRequest(signer, spec, requestedBy);
      signedWith = ` (signed with ${signer.source})`;
    }
  }
  const refusal = requestRefusal(spec, requestedBy, signature, Date.now());
  if (refusal) throw new CliError(`fleet ${spec.fleetId} not started: ${refusal}${signedWith}`, 2);
  return signature as RequestSignature;
}

/** `fleet sign-request <fleet.yaml>`: prints the requester's signature for `fleet onboard --signature`. */
export async function signRequestCommand(file: string, requestedBy: string, opts: KeyOptions): Promise<number> {
  const spec = readFleetFile(file);
  if (spec.approvals !== 'signed') {
    throw new CliError(
      `${file}: approvals: unsigned: requests of this fleet are not signed (the requester is self-asserted)`,
      2
    );
  }
  const key = requesterKey(spec, requestedBy);
  if (!key) throw new CliError(requestRefusal(spec, requestedBy, undefined, Date.now()) ?? 'requestedBy: no key', 2);
  const signer = await signerFrom(opts, key);
  if (!signer) throw new CliError('give your private key: --key <file>, FLEET_APPROVER_KEY_FILE, or --ssh-agent', 2);
  const signature = await signRequest(signer, spec, requestedBy);
  const refusal = requestRefusal(spec, requestedBy, signature, Date.now());
  if (refusal) throw new CliError(`${refusal} (signed with ${signer.source})`, 2);
  console.log(JSON.stringify(signature));
  return 0;
}
