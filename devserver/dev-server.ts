/**
 * Starts and stops the Temporal CLI's dev server: SQLite under `.temporal/` (so workflows survive a
 * restart), the Web UI, and the product's search attributes registered. Reuses a server that
 * already answers on the port (a second `npm start`, or a developer's own `temporal server start-dev`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, searchAttributeTypeName } from '../domain/search-attributes';
import { ensureTemporalCli, TEMPORAL_DIR } from './temporal-cli';

interface DevServerOptions {
  port: number;
  /** Web UI port; `undefined` runs headless. */
  uiPort?: number;
  /** SQLite file; relative paths are under `.temporal/`. */
  dbFile: string;
  namespace?: string;
  /** Extra `--dynamic-config-value KEY=JSON` settings. */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
  /** Log file for the server's own output. */
  logFile?: string;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function answers(address: string, timeoutMs: number): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function waitUntilAnswering(address: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}`);
    if (await answers(address, 2_000)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within ${deadlineMs / 1000}s`);
}

/**
 * Registers the product's search attributes if missing. The dev server applies `--search-attribute`
 * only when it creates the namespace, so a reused database needs this.
 */
async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    const { INDEXED_VALUE_TYPE_KEYWORD, INDEXED_VALUE_TYPE_INT } = temporal.api.enums.v1.IndexedValueType;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((k) => [
          k.name,
          searchAttributeTypeName(k) === 'Int' ? INDEXED_VALUE_TYPE_INT : INDEXED_VALUE_TYPE_KEYWORD,
        ])
      ),
    });
  } finally {
    await connection.close();
  }
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.log ?? (() => undefined);
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = options.uiPort ? `http://localhost:${options.uiPort}` : undefined;

  if (await answers(address, 1_000)) {
    log(`reusing the Temporal server already answering on ${address}`);
    await ensureSearchAttributes(address, namespace);
    return { address, namespace, uiUrl, owned: false, stop: async () => undefined };
  }

  const binary = ensureTemporalCli(log);
  fs.mkdirSync(TEMPORAL_DIR, { recursive: true });
  const dbFile = path.isAbsolute(options.dbFile) ? options.dbFile : path.join(TEMPORAL_DIR, options.dbFile);
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--db-filename',
    dbFile,
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--namespace',
    namespace,
    '--log-level',
    'error',
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${searchAttributeTypeName(k)}`]),
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([k, v]) => [
      '--dynamic-config-value',
      `${k}=${JSON.stringify(v)}`,
    ]),
  ];
  const logFile = options.logFile ?? path.join(TEMPORAL_DIR, `server-${options.port}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  log(`starting the Temporal dev server on ${address} (database ${path.relative(process.cwd(), dbFile)})…`);

  // If this process ends without stop() (a test runner killing a file), take the server along.
  const killOnExit = (): void => void child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilAnswering(address, child, 90_000);
    await ensureSearchAttributes(address, namespace);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; see ${logFile}`, { cause: err });
  }
  return { address, namespace, uiUrl, owned: true, stop };
}
