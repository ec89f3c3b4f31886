/**
 * Ed25519 key pairs for approvers and requesters in tests: private keys are written to a temporary
 * PKCS#8 PEM file (what `fleet approve --key` and `fleet onboard --key` read); public keys go into the
 * fleet file as an OpenSSH line.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestApproverKey {
  /** `ssh-ed25519 AAAA... name` for the fleet file. */
  publicKey: string;
  /** Path of the private key file. */
  keyFile: string;
}

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Raw public key (base64) → private key file of every key made here, so helpers can sign for a person. */
const keyFiles = new Map<string, string>();

export function testApproverKey(name: string): TestApproverKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'approver-')), `${name}.pem`);
  fs.writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  keyFiles.set(raw.toString('base64'), keyFile);
  return { publicKey: `ssh-ed25519 ${blob.toString('base64')} ${name}@test`, keyFile };
}

/** The private key file of a key testApproverKey made, by its raw public key (base64). */
export function testKeyFileOf(rawPublicKey: string): string | undefined {
  return keyFiles.get(rawPublicKey);
}
