/**
 * Signing through ssh-agent (the socket in SSH_AUTH_SOCK), so a private key never has to be a plain
 * file the CLI reads. The agent protocol (draft-miller-ssh-agent): list identities (11 -> 12), sign
 * (13 -> 14). An Ed25519 agent signature is a plain Ed25519 signature over the data, so workflows
 * verify it like one made from a key file.
 */
import net from 'node:net';

const SSH_AGENT_FAILURE = 5;
const SSH2_AGENTC_REQUEST_IDENTITIES = 11;
const SSH2_AGENT_IDENTITIES_ANSWER = 12;
const SSH2_AGENTC_SIGN_REQUEST = 13;
const SSH2_AGENT_SIGN_RESPONSE = 14;
/** An agent answers at once unless it asks its user to confirm (ssh-add -c): then a person has this long. */
const AGENT_ANSWER_MS = 60_000;
/** Far above any real answer (a few keys); a larger length means the socket is not an agent. */
const MAX_ANSWER_BYTES = 1 << 20;

export class AgentError extends Error {}

export interface AgentIdentity {
  /** The key type from its blob, e.g. `ssh-ed25519`. */
  type: string;
  /** The public key blob as the agent identifies the key. */
  blob: Buffer;
  comment: string;
  /** For Ed25519 keys: the raw 32-byte public key, base64. */
  ed25519?: string;
}

function sshString(bytes: Buffer | string): Buffer {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  uint32(): number {
    if (this.at + 4 > this.bytes.length) throw new AgentError('ssh-agent sent a truncated answer');
    const value = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  string(): Buffer {
    const length = this.uint32();
    if (this.at + length > this.bytes.length) throw new AgentError('ssh-agent sent a truncated answer');
    const value = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
}

/** Where the agent listens: SSH_AUTH_SOCK, or why there is none. */
export function agentSocket(env: NodeJS.ProcessEnv = process.env): string {
  const socket = env.SSH_AUTH_SOCK;
  if (!socket) {
    throw new AgentError('SSH_AUTH_SOCK is not set: start ssh-agent (eval "$(ssh-agent)") and add your key (ssh-add)');
  }
  return socket;
}

/** Sends one request and reads one answer (type byte first, length prefix removed). */
function exchange(socketPath: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let received = Buffer.alloc(0);
    const fail = (message: string) => {
      socket.destroy();
      reject(new AgentError(message));
    };
    socket.setTimeout(AGENT_ANSWER_MS, () => fail(`ssh-agent at ${socketPath} did not answer`));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(`cannot reach ssh-agent at ${socketPath} (SSH_AUTH_SOCK): ${err.code ?? err.message}`)
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUInt32BE(0);
      if (length === 0 || length > MAX_ANSWER_BYTES) return fail(`${socketPath} does not speak the ssh-agent protocol`);
      if (received.length < 4 + length) return;
      socket.end();
      resolve(received.subarray(4, 4 + length));
    });
    socket.on('close', () => reject(new AgentError(`ssh-agent at ${socketPath} closed the connection`)));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(request.length);
    socket.write(Buffer.concat([length, request]));
  });
}

/** The keys the agent holds. */
export async function agentIdentities(socketPath: string): Promise<AgentIdentity[]> {
  const answer = await exchange(socketPath, Buffer.from([SSH2_AGENTC_REQUEST_IDENTITIES]));
  if (answer[0] !== SSH2_AGENT_IDENTITIES_ANSWER) throw new AgentError('ssh-agent refused to list its keys');
  const reader = new Reader(answer.subarray(1));
  const count = reader.uint32();
  const out: AgentIdentity[] = [];
  for (let i = 0; i < count; i++) {
    const blob = reader.string();
    const comment = reader.string().toString('utf8');
    const inner = new Reader(blob);
    const type = inner.string().toString('latin1');
    let ed25519: string | undefined;
    if (type === 'ssh-ed25519') {
      const key = inner.string();
      if (key.length === 32) ed25519 = key.toString('base64');
    }
    out.push({ type, blob, comment, ed25519 });
  }
  return out;
}

/** Signs `data` with the agent's key `identity`; returns the raw 64-byte Ed25519 signature. */
export async function agentSignEd25519(socketPath: string, identity: AgentIdentity, data: Buffer): Promise<Buffer> {
  const flags = Buffer.alloc(4); // no flags: Ed25519 has one signature algorithm
  const answer = await exchange(
    socketPath,
    Buffer.concat([Buffer.from([SSH2_AGENTC_SIGN_REQUEST]), sshString(identity.blob), sshString(data), flags])
  );
  if (answer[0] === SSH_AGENT_FAILURE) {
    throw new AgentError(
      `ssh-agent refused to sign with ${identity.comment || 'the key'} (removed, locked, or not confirmed)`
    );
  }
  if (answer[0] !== SSH2_AGENT_SIGN_RESPONSE) throw new AgentError(`ssh-agent answered ${answer[0]} to a sign request`);
  const signature = new Reader(new Reader(answer.subarray(1)).string());
  const type = signature.string().toString('latin1');
  const value = signature.string();
  if (type !== 'ssh-ed25519' || value.length !== 64) {
    throw new AgentError(`ssh-agent returned a ${type} signature, not Ed25519`);
  }
  return value;
}
