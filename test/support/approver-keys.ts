/**
 * Ed25519 key pairs for approvers in tests: private keys are written to a temporary PKCS#8 PEM file
 * (what `fleet approve --key` reads); public keys go into the fleet file as an OpenSSH line.
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

export function testApproverKey(name: string): TestApproverKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'approver-')), `${name}.pem`);
  fs.writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return { publicKey: `ssh-ed25519 ${blob.toString('base64')} ${name}@test`, keyFile };
}
