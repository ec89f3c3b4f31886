/**
 * `fleet codec-server`: Temporal's codec server protocol over HTTP, so the Web UI (and `temporal
 * --codec-endpoint`) can show decrypted payloads. POST /encode and POST /decode take and return
 * `{"payloads":[{"metadata":{"<name>":"<base64>"},"data":"<base64>"}]}` (protobuf JSON); the UI sends
 * `X-Namespace` and, when configured, `Authorization`. Only the UI origin given is allowed by CORS,
 * and with a token file every request must carry `Authorization: Bearer <token>`.
 */
import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { usageError } from '../cli-error';
import { cliCodecs, cliEnv } from '../connect';

/** A codec request is a batch of payloads; far more than any one history page holds. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, { error: 'must be base64' });
const jsonPayloadSchema = z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() });
const bodySchema = z.object({ payloads: z.array(jsonPayloadSchema) });
type JsonPayload = z.infer<typeof jsonPayloadSchema>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The Web UI's origin, e.g. http://localhost:8233: the only one CORS lets call. */
  uiOrigin: string;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  port?: number;
  host?: string;
}

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const { codec, uiOrigin, token } = options;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // CORS for the UI's origin only; other origins get no CORS headers, so browsers refuse the answer.
    if (req.headers.origin === uiOrigin) {
      res.setHeader('Access-Control-Allow-Origin', uiOrigin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const route = req.url?.split('?')[0].replace(/\/+$/, '');
    const operation = route === '/encode' ? 'encode' : route === '/decode' ? 'decode' : undefined;
    if (!operation) return send(404, { message: 'not found: POST /encode or /decode' });
    if (req.method !== 'POST') return send(405, { message: `${operation}: use POST` });
    if (token !== undefined && !tokenMatches(req.headers.authorization, token)) {
      return send(401, { message: 'missing or wrong bearer token' });
    }
    void (async () => {
      const text = await readBody(req);
      if (text === undefined) return send(413, { message: `request over ${MAX_BODY_BYTES} bytes` });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return send(400, { message: 'the body is not JSON' });
      }
      const parsed = bodySchema.safeParse(json);
      if (!parsed.success) return send(400, { message: 'the body must be {"payloads":[{"metadata":{},"data":""}]}' });
      const payloads = parsed.data.payloads.map(fromJson);
      const result = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      send(200, { payloads: result.map(toJson) });
    })().catch((err: unknown) => {
      // The codec's messages name key ids and never key material or payload content.
      send(400, { message: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CodecServerCommandOptions {
  port: string;
  host: string;
  uiOrigin: string;
  authTokenFile?: string;
}

/** Runs until SIGINT/SIGTERM. Needs no Temporal connection: only the key ring. */
export async function codecServerCommand(o: CodecServerCommandOptions): Promise<number> {
  const codecs = cliCodecs(cliEnv());
  if (codecs.length === 0) {
    throw usageError('the payload codec is off: set FLEET_CODEC_KEYS_FILE or FLEET_CODEC_KEY and FLEET_CODEC_KEY_ID');
  }
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port ${o.port}: not a port number`);
  let origin: string;
  try {
    origin = new URL(o.uiOrigin).origin;
  } catch {
    throw usageError(`--ui-origin ${JSON.stringify(o.uiOrigin)}: not a URL like http://localhost:8233`);
  }
  let token: string | undefined;
  if (o.authTokenFile !== undefined) {
    try {
      token = fs.readFileSync(o.authTokenFile, 'utf8').trim();
    } catch {
      throw usageError(`--auth-token-file ${o.authTokenFile}: cannot be read`);
    }
    if (!token) throw usageError(`--auth-token-file ${o.authTokenFile}: is empty`);
  }
  const server = await startCodecServer({ codec: codecs[0], uiOrigin: origin, token, port, host: o.host });
  console.log(
    `codec server on ${server.url} for the UI at ${origin}${token ? ' (bearer token required)' : ''}; ` +
      `set it as the UI's codec endpoint (TEMPORAL_CODEC_ENDPOINT or the UI's "Codec Server" setting). Ctrl-C stops it`
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
