/**
 * Payload encryption (config/codec.ts) and `fleet codec-server`: the key ring from the environment, key
 * rotation, a small lab fleet whose raw history holds only ciphertext, and the codec server decoding
 * that history over HTTP as the Web UI would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { startCodecServer, type RunningCodecServer } from '../client/commands/codec-server';
import { readEnv } from '../config/environment';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { fleetWorkflowId } from '../domain/ids';
import type { FleetStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { AesGcmPayloadCodec, codecKeysFromEnv, ENCRYPTED_ENCODING, type CodecKeys } from '../config/codec';
import { createAdWorker, createMainWorker } from '../workers/create-workers';
import { onboardFleet } from '../workflows';
import { runCli } from './support/cli';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { waitFor } from './support/wait';
import { metadataText, rawFleetHistories } from './support/raw-history';
import { testEnv, testFleet, workflowSource, type TestEnv } from './support/temporal';

const newKey = () => randomBytes(32).toString('base64');
const ring = (current: string, keys: Record<string, string>): CodecKeys => ({
  current,
  keys: new Map(Object.entries(keys).map(([id, k]) => [id, Buffer.from(k, 'base64')])),
});
const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const keysFile = (content: unknown): string => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'codec-keys-')), 'keys.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
  return file;
};
const envKeys = (vars: NodeJS.ProcessEnv) => codecKeysFromEnv(readEnv(vars));

void describe('the AES-256-GCM payload codec', () => {
  void it('encrypts every payload with the current key id in its metadata, and decrypts it back', async () => {
    const codec = new AesGcmPayloadCodec(ring('k1', { k1: newKey() }));
    const [sealed] = await codec.encode([json({ fqdn: 'exch01.corp.example' })]);
    assert.equal(metadataText(sealed, 'encoding'), ENCRYPTED_ENCODING);
    assert.equal(metadataText(sealed, 'encryption-key-id'), 'k1');
    assert.doesNotMatch(Buffer.from(sealed.data ?? []).toString('latin1'), /exch01/);
    const [opened] = await codec.decode([sealed]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened), { fqdn: 'exch01.corp.example' });
  });

  void it('after rotation decrypts payloads of the old key id and encrypts with the new one', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const [old] = await new AesGcmPayloadCodec(ring('k1', { k1 })).encode([json('written before rotation')]);
    const rotated = new AesGcmPayloadCodec(ring('k2', { k1, k2 }));
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0]), 'written before rotation');
    const [fresh] = await rotated.encode([json('after')]);
    assert.equal(metadataText(fresh, 'encryption-key-id'), 'k2');
    // Once k1 is dropped, its payloads no longer open, and the error says which key is missing.
    await assert.rejects(new AesGcmPayloadCodec(ring('k2', { k2 })).decode([old]), /key id "k1".*do not hold/);
  });

  void it('refuses altered ciphertext and a payload relabelled with another key id', async () => {
    const k1 = newKey();
    const codec = new AesGcmPayloadCodec(ring('k1', { k1, k2: k1 }));
    const [sealed] = await codec.encode([json('x')]);
    const flipped = Buffer.from(sealed.data ?? []);
    flipped[20] ^= 1;
    await assert.rejects(codec.decode([{ ...sealed, data: flipped }]), /does not decrypt with key id "k1"/);
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, 'encryption-key-id': Buffer.from('k2') } };
    await assert.rejects(codec.decode([relabelled]), /does not decrypt with key id "k2"/);
  });

  void it('passes payloads written before the codec was turned on through unchanged', async () => {
    const plain = json({ a: 1 });
    assert.deepEqual((await new AesGcmPayloadCodec(ring('k1', { k1: newKey() })).decode([plain]))[0], plain);
  });
});

void describe('codec keys from the environment', () => {
  void it('is off when no variable is set', () => {
    assert.equal(envKeys({}), undefined);
  });

  void it('reads a key ring file and a single key with its id', () => {
    const k1 = newKey();
    const k2 = newKey();
    const fromFile = envKeys({ FLEET_CODEC_KEYS_FILE: keysFile({ current: 'k2', keys: { k1, k2 } }) });
    assert.equal(fromFile?.current, 'k2');
    assert.deepEqual([...(fromFile?.keys.keys() ?? [])], ['k1', 'k2']);
    const single = envKeys({ FLEET_CODEC_KEY: k1, FLEET_CODEC_KEY_ID: 'prod-2026' });
    assert.equal(single?.current, 'prod-2026');
    assert.deepEqual(single?.keys.get('prod-2026'), Buffer.from(k1, 'base64'));
  });

  void it('names the variable and the problem, and never prints a key', () => {
    const short = Buffer.from('sixteen byte key').toString('base64');
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ FLEET_CODEC_KEY: short, FLEET_CODEC_KEY_ID: 'k1' }, /FLEET_CODEC_KEY: must be 32 random bytes in base64/],
      [{ FLEET_CODEC_KEY: newKey() }, /FLEET_CODEC_KEY is set but FLEET_CODEC_KEY_ID/],
      [{ FLEET_CODEC_KEY_ID: 'k1' }, /FLEET_CODEC_KEY_ID is set but FLEET_CODEC_KEY is not/],
      [{ FLEET_CODEC_KEY: newKey(), FLEET_CODEC_KEY_ID: 'bad id!' }, /FLEET_CODEC_KEY_ID: a key id is/],
      [{ FLEET_CODEC_KEYS_FILE: keysFile({ current: 'k3', keys: { k1: newKey() } }) }, /current: names no key/],
      [{ FLEET_CODEC_KEYS_FILE: keysFile({ current: 'k1', keys: { k1: short } }) }, /keys\.k1: must be 32 random/],
      [{ FLEET_CODEC_KEYS_FILE: keysFile(`{"current":"k1","keys":{"k1":"${short}"`) }, /is not valid JSON/],
      [{ FLEET_CODEC_KEYS_FILE: keysFile({ current: 'k1', keys: {} }), FLEET_CODEC_KEY: newKey() }, /not both/],
    ];
    for (const [vars, expected] of cases) {
      assert.throws(
        () => envKeys(vars),
        (err: Error) => {
          assert.match(err.message, expected);
          assert.ok(!err.message.includes(short), `no key material in: ${err.message}`);
          return true;
        }
      );
    }
  });

  void it('makes the CLI exit 2 naming the variable, before connecting', async () => {
    const result = await runCli(['status', 'any-fleet'], { FLEET_CODEC_KEY: 'c2hvcnQ=', FLEET_CODEC_KEY_ID: 'k1' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /FLEET_CODEC_KEY: must be 32 random bytes/);
    assert.doesNotMatch(result.stderr, /c2hvcnQ=/);
  });
});

void describe('fleet codec-server', () => {
  void it('refuses to start with the codec off (exit 2)', async () => {
    const result = await runCli(['codec-server', '--ui-origin', 'http://localhost:8233']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /the payload codec is off: set FLEET_CODEC_KEYS_FILE or FLEET_CODEC_KEY/);
  });

  void it('serves the key ring of the environment until SIGTERM, with CORS for the UI origin', async () => {
    const k1 = newKey();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(PROJECT_ROOT, 'client', 'fleet.ts'),
        'codec-server',
        '--port',
        '0',
        '--ui-origin',
        'http://localhost:8233/',
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, FLEET_CODEC_KEYS_FILE: keysFile({ current: 'k1', keys: { k1 } }) } }
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(async () => /codec server on (http:\S+)/.exec(stdout)?.[1], 'the codec server listens');
      const [sealed] = await new AesGcmPayloadCodec(ring('k1', { k1 })).encode([json({ from: 'the worker' })]);
      const response = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: 'http://localhost:8233' },
        body: JSON.stringify({
          payloads: [
            {
              metadata: Object.fromEntries(
                Object.entries(sealed.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])
              ),
              data: Buffer.from(sealed.data ?? []).toString('base64'),
            },
          ],
        }),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      const answer = (await response.json()) as { payloads: { data: string }[] };
      assert.deepEqual(JSON.parse(Buffer.from(answer.payloads[0].data, 'base64').toString()), { from: 'the worker' });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});

void describe('a lab fleet with the codec on', () => {
  let env: TestEnv;
  let server: RunningCodecServer | undefined;
  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    await server?.close();
    await env.close();
  });

  void it('leaves only ciphertext in history, which the codec server decodes for the UI', async () => {
    const k2 = newKey();
    const codec = new AesGcmPayloadCodec(ring('k2', { k1: newKey(), k2 }));
    const spec = testFleet(2, { policy: SAFE_POLICY });
    const wiring = {
      connection: env.connection,
      namespace: 'default',
      runner: new LabRunner(estateFor(spec)),
      taskQueue: env.taskQueue,
      payloadCodecs: [codec],
      ...('workflowBundle' in workflowSource() ? workflowSource() : {}),
    };
    const client = new Client({
      connection: env.client.connection,
      namespace: 'default',
      dataConverter: { payloadCodecs: [codec] },
    });
    const main = await createMainWorker(wiring);
    const ad = await createAdWorker(wiring);
    const result: FleetStatus = await main.runUntil(
      ad.runUntil(
        client.workflow.execute(onboardFleet, {
          workflowId: fleetWorkflowId(spec.fleetId),
          taskQueue: env.taskQueue,
          args: [{ spec, requestedBy: 'carol' }],
        })
      )
    );
    assert.deepEqual(Object.values(result.servers), ['onboarded', 'onboarded']);

    // Rotated: a CLI whose current key is k3 still reads the history written with k2.
    const rotated = new Client({
      connection: env.client.connection,
      namespace: 'default',
      dataConverter: { payloadCodecs: [new AesGcmPayloadCodec(ring('k3', { k2, k3: newKey() }))] },
    });
    assert.deepEqual(await rotated.workflow.getHandle(fleetWorkflowId(spec.fleetId)).result(), result);

    // env.client has no codec: it reads what the server stores.
    const histories = await rawFleetHistories(env.client, spec.fleetId, 2);
    assert.equal(histories.length, 3, 'the fleet and its two servers');
    const inTheClear = [...spec.servers.map((s) => s.fqdn), 'monosync_svc', spec.monosyncServers[0]];
    for (const h of histories) {
      assert.ok(h.payloads.length > 2, `${h.workflowId} has payloads`);
      for (const p of h.payloads) {
        assert.equal(metadataText(p, 'encoding'), ENCRYPTED_ENCODING, `${h.workflowId}: a payload is not encrypted`);
        assert.equal(metadataText(p, 'encryption-key-id'), 'k2');
        const data = Buffer.from(p.data ?? []).toString('latin1');
        for (const clear of inTheClear) assert.ok(!data.includes(clear), `${h.workflowId}: "${clear}" in a payload`);
      }
      // The fqdn is in workflow ids and search attributes by design; the rest of the fleet file is nowhere.
      for (const clear of ['monosync_svc', spec.monosyncServers[0]]) {
        assert.ok(!h.bytes.includes(clear), `${h.workflowId}: "${clear}" in the history`);
      }
    }

    const token = randomBytes(16).toString('hex');
    const uiOrigin = 'http://localhost:8233';
    server = await startCodecServer({ codec, uiOrigin, token });
    const fleetHistory = histories.find((h) => h.workflowId === fleetWorkflowId(spec.fleetId));
    assert.ok(fleetHistory);
    const body = JSON.stringify({
      payloads: fleetHistory.payloads.slice(0, 1).map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])
        ),
        data: Buffer.from(p.data ?? []).toString('base64'),
      })),
    });
    const headers = { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: uiOrigin };

    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: uiOrigin, 'Access-Control-Request-Headers': 'x-namespace,content-type,authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), uiOrigin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
    const otherOrigin = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.test' },
    });
    assert.equal(otherOrigin.headers.get('access-control-allow-origin'), null);

    const unauthenticated = await fetch(`${server.url}/decode`, { method: 'POST', headers, body });
    assert.equal(unauthenticated.status, 401);

    const decoded = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body,
    });
    assert.equal(decoded.status, 200);
    const answer = (await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(answer.payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
    const input = JSON.parse(Buffer.from(answer.payloads[0].data, 'base64').toString()) as {
      spec: { fleetId: string };
    };
    assert.equal(input.spec.fleetId, spec.fleetId);

    // /encode then /decode round-trips, as the UI does for signals it sends.
    const encoded = await fetch(`${server.url}/encode`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        payloads: [
          {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from('"hi"').toString('base64'),
          },
        ],
      }),
    });
    const sealed = (await encoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(sealed.payloads[0].metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
    const bad = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body: '{"payloads":"nope"}',
    });
    assert.equal(bad.status, 400);
  });
});
