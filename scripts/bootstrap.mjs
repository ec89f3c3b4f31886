#!/usr/bin/env node
// The one entry `npm start`, `npm test`, `npm run test:ps` and `npm run bench` go through: installs the
// locked packages when they are missing or the lockfile changed, then runs scripts/<command>.ts with tsx.
// Plain Node on purpose: it must run before any package is installed.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);
const commands = ['start', 'test', 'test-ps', 'bench'];
if (!commands.includes(command)) {
  console.error(`usage: node scripts/bootstrap.mjs <${commands.join('|')}> [args...]`);
  process.exit(2);
}

const lockHash = createHash('sha256')
  .update(fs.readFileSync(path.join(root, 'package-lock.json')))
  .digest('hex');
const stamp = path.join(root, 'node_modules', '.installed-lock-hash');
const installed = fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === lockHash;
if (!installed) {
  console.log('installing the locked packages (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('npm ci failed: check the npm registry is reachable (npm config get registry)');
    process.exit(r.status ?? 1);
  }
  fs.writeFileSync(stamp, `${lockHash}\n`);
}

const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', `${command}.ts`), ...args], {
  cwd: root,
  stdio: 'inherit',
  // glibc gives each thread that allocates its own malloc arena (up to 8 per core) and hands little of
  // them back: the worker's threads (Node's, its workflow threads, the SDK core's) let its resident
  // memory creep up all run that way (README "Malloc arenas"). Two arenas hold it; a value the caller set
  // wins, and other C libraries (musl, Windows) ignore the variable. Worker processes the command
  // starts (the bench's) inherit it.
  env: { MALLOC_ARENA_MAX: '2', ...process.env },
});
process.exit(r.status ?? (r.signal ? 1 : 0));
