import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { MAX_SERVER_LIST_BYTES, serverListBytes, validateFleet } from '../domain/fleet';
import type { FleetRunInput } from '../domain/status';
import { fleetWorkflowId } from '../domain/ids';
import { explain } from '../client/cli-error';
import { MAX_FLEET_FILE_BYTES, readFleetFile } from '../client/fleet-file';
import { markdownText } from '../workflows/render';
import { runCli } from './support/cli';
import { tag, testEnv, type TestEnv } from './support/temporal';

describe('fleet file validation', () => {
  it('lists every problem with its path', () => {
    const result = validateFleet({
      fleet: 'Bad Fleet',
      serviceAccount: 'monosync svc',
      monosyncServers: ['10.0.0.300'],
      approvers: [],
      servers: ['exch01.corp.example', 'exch02.corp.example', 'exch 01', 'exch01.corp.example'],
      policy: { cbtHardeningLevel: 'Off' },
      settings: { serverCheckInterval: '10ms' },
    });
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    const paths = problems.map((p) => p.split(':')[0]);
    for (const expected of [
      'fleet',
      'serviceAccount',
      'monosyncServers[0]',
      'approvers',
      'servers[2].fqdn',
      'policy.cbtHardeningLevel',
      'settings.serverCheckInterval',
    ]) {
      assert.ok(
        paths.some((p) => p.startsWith(expected)),
        `expected a problem at ${expected}, got:\n${problems.join('\n')}`
      );
    }
    assert.ok(
      problems.some((p) => /servers\[2\]\.fqdn: "exch 01" is not a DNS name/.test(p)),
      problems.join('\n')
    );
  });

  it('takes a ceiling for the wait between step retries, never below the first wait', () => {
    const base = {
      fleet: 'retries',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.1'],
      approvers: ['bob'],
      approvals: 'unsigned',
      servers: ['exch01.corp.example'],
    };
    const set = validateFleet({ ...base, settings: { stepRetry: { initialInterval: '1s', maximumInterval: '4s' } } });
    assert.ok(set.ok, set.ok ? '' : set.problems.join('\n'));
    assert.equal(set.spec.settings.stepRetry.maximumInterval, 4_000);
    const unset = validateFleet(base);
    assert.ok(unset.ok);
    assert.equal(unset.spec.settings.stepRetry.maximumInterval, 120_000, 'doubling up to 2 minutes by default');
    const below = validateFleet({
      ...base,
      settings: { stepRetry: { initialInterval: '10s', maximumInterval: '5s' } },
    });
    assert.equal(below.ok, false);
    assert.match(
      below.ok ? '' : below.problems.join('\n'),
      /settings\.stepRetry\.maximumInterval: maximumInterval must be at least initialInterval/
    );
  });

  it('refuses a server list too large for the fleet workflow to carry, and the largest allowed one fits', () => {
    // Each its own computer name (the first 15 characters of the host name).
    const names = Array.from({ length: 20_000 }, (_, i) => `exch${i}-mailbox.emea.subsidiary.corp.example.com`);
    let fits = 0;
    for (let bytes = 0; bytes + serverListBytes([{ fqdn: names[fits] }]) <= MAX_SERVER_LIST_BYTES; fits += 1) {
      bytes += serverListBytes([{ fqdn: names[fits] }]);
    }
    const file = (servers: string[]) => ({
      fleet: 'big',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.1'],
      approvers: ['alice'],
      approvals: 'unsigned',
      servers,
    });

    const tooMany = validateFleet(file(names.slice(0, fits + 1)));
    assert.equal(tooMany.ok, false);
    const problems = tooMany.ok ? [] : tooMany.problems;
    assert.match(problems.join('\n'), /^servers: .*more than the 1.5 MB one fleet can carry.*split the servers/m);

    const largest = validateFleet(file(names.slice(0, fits)));
    assert.ok(largest.ok, largest.ok ? '' : largest.problems.join('\n'));
    // The worst case the fleet workflow carries: every server in flight, waiting for an operator.
    const fqdns = largest.spec.servers.map((s) => s.fqdn);
    const input: FleetRunInput = {
      spec: largest.spec,
      requestedBy: 'carol',
      carry: {
        cursor: fqdns.length,
        servers: Object.fromEntries(fqdns.map((f) => [f, 'awaiting-operator'])),
        inFlight: fqdns,
        runIds: Object.fromEntries(fqdns.map((f) => [f, '01234567-89ab-cdef-0123-456789abcdef'])),
        standingDecisions: [],
        run: 7,
      },
    };
    const bytes = defaultPayloadConverter.toPayload(input).data?.length ?? 0;
    assert.ok(bytes <= MAX_SERVER_LIST_BYTES + 10_000, `the input takes ${bytes} bytes`);
    assert.ok(bytes < 2 * 1024 * 1024);
  });

  it('accepts the example fleet and fills in the defaults', () => {
    const result = validateFleet({
      fleet: 'ok',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.1'],
      approvers: ['alice'],
      approvals: 'unsigned',
      servers: ['exch01.corp.example'],
    });
    assert.ok(result.ok);
    assert.equal(result.spec.settings.maxParallel, 32);
    assert.equal(result.spec.settings.approvalTimeout, 72 * 3_600_000);
    assert.equal(result.spec.servers[0].computerName, 'EXCH01');
  });
});

/** A fleet file's fields, valid; cases change or add to them. */
const VALID_LINES = [
  'fleet: hostile-input',
  'serviceAccount: CORP\\monosync_svc',
  'monosyncServers: [10.20.30.41]',
  'approvers: [alice, bob]',
  'approvals: unsigned',
  'servers: [exch01.corp.example]',
];
/** Text that stands for a file's private contents: no error may print it back. */
const CANARY = 'canary-0f3c9e-private-line';

interface HostileCase {
  name: string;
  /** Makes the input in `dir` and returns the path given to `fleet onboard`. */
  make(dir: string): string;
  /** What the one problem line says (exit 2, naming the file, is checked for every case). */
  problem: RegExp;
}

const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'a symlink to /dev/zero (endless)',
    make: (dir) => link(dir, '/dev/zero'),
    problem: /not a regular file/,
  },
  { name: 'a directory', make: (dir) => dir, problem: /not a regular file/ },
  {
    name: 'a named pipe nobody writes to (would block)',
    make: (dir) => {
      const fifo = path.join(dir, 'fleet.yaml');
      execFileSync('mkfifo', [fifo]);
      return fifo;
    },
    problem: /not a regular file/,
  },
  {
    name: 'a file over the size cap',
    make: (dir) => write(dir, `${VALID_LINES.join('\n')}\n${'#'.repeat(MAX_FLEET_FILE_BYTES)}\n`),
    problem: /larger than 2 MB/,
  },
  {
    name: 'a symlink to a system file (lines of text, not YAML fields)',
    make: (dir) => link(dir, write(dir, `root:x:0:0:${CANARY}:/root:/bin/bash\nsvc:x:1:1:${CANARY}:/:/bin/false\n`)),
    problem: /the file is a YAML string, not a mapping of fleet fields/,
  },
  {
    name: 'a YAML syntax error on a line holding a secret',
    make: (dir) => write(dir, `${VALID_LINES.join('\n')}\ndescription: "${CANARY}\n  password: [\n`),
    problem: /line \d+: Missing closing "?quote/,
  },
  {
    name: 'a long unexpected key with a huge value',
    make: (dir) => write(dir, `${VALID_LINES.join('\n')}\nabc-${CANARY}-${'z'.repeat(80)}: ${'y'.repeat(5000)}\n`),
    problem: /Unrecognized key: "abc-canary-0\.\.\." \(\d+ characters\)/,
  },
  {
    name: 'a huge value in a known field',
    make: (dir) => write(dir, `${VALID_LINES.slice(1).join('\n')}\nfleet: abc-${CANARY}-${'y'.repeat(5000)}\n`),
    problem: /fleet: "abc-canary-0\.\.\." \(\d+ characters\) is not a fleet id/,
  },
  {
    name: 'a YAML alias bomb',
    make: (dir) =>
      write(
        dir,
        [
          ...VALID_LINES,
          'a: &a [x, x, x, x, x, x, x, x, x]',
          'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
          'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
          'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
          'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
        ].join('\n')
      ),
    problem: /too many YAML aliases/,
  },
  { name: 'an empty file', make: (dir) => write(dir, ''), problem: /the file is empty/ },
  { name: 'a file that does not exist', make: (dir) => path.join(dir, 'missing.yaml'), problem: /ENOENT/ },
];

function write(dir: string, text: string): string {
  const file = path.join(dir, `f-${fs.readdirSync(dir).length}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

function link(dir: string, target: string): string {
  const file = path.join(dir, `link-${fs.readdirSync(dir).length}.yaml`);
  fs.symlinkSync(target, file);
  return file;
}

describe('fleet files from people: refused without reading too much or printing contents', () => {
  for (const c of HOSTILE_CASES) {
    it(c.name, () => {
      const file = c.make(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-hostile-')));
      let thrown: unknown;
      try {
        readFleetFile(file);
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown !== undefined, 'the file was accepted');
      const { message, exitCode } = explain(thrown);
      assert.equal(exitCode, 2, message);
      assert.ok(message.startsWith(`${file} is not a valid fleet file`), message);
      assert.match(message, c.problem);
      assert.ok(!message.includes(CANARY), `the error prints the file back:\n${message}`);
      for (const line of message.split('\n').slice(1)) assert.ok(line.length <= 210, `a long problem line: ${line}`);
    });
  }

  it('free text is cleaned of control characters and escaped where Markdown renders it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-text-'));
    const description = 'Wave 1\u0000 [click](http://evil.example)\r\n<img src=x> | **bold** \u202Egnp.exe';
    const spec = readFleetFile(write(dir, `${VALID_LINES.join('\n')}\ndescription: ${JSON.stringify(description)}\n`));
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(spec.description ?? '', /[\u0000-\u001F\u202E]/);
    assert.equal(spec.description, 'Wave 1 [click](http://evil.example) <img src=x> | **bold** gnp.exe');
    const rendered = markdownText(spec.description ?? '');
    assert.equal(rendered, 'Wave 1 \\[click\\]\\(http://evil.example\\) \\<img src=x\\> \\| \\*\\*bold\\*\\* gnp.exe');
  });

  it('a symlink to /dev/zero exits 2 at once from the CLI, and so does a bad environment', async () => {
    const zero = link(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-zero-')), '/dev/zero');
    const onboard = await runCli(['onboard', zero]);
    assert.equal(onboard.code, 2, onboard.stderr);
    assert.match(onboard.stderr, /not a regular file/);
    const badEnv = await runCli(['status', 'some-fleet'], { FLEET_MAX_ACTIVITIES: 'lots' });
    assert.equal(badEnv.code, 2, badEnv.stderr);
    assert.match(badEnv.stderr, /invalid environment:.*FLEET_MAX_ACTIVITIES/s);
  });
});

describe('fleet onboard with an invalid file', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('prints every problem, exits non-zero and starts no workflow', async () => {
    const fleetId = `bad-${tag()}`;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')), 'fleet.yaml');
    fs.writeFileSync(
      file,
      [
        `fleet: ${fleetId}`,
        'serviceAccount: CORP\\monosync_svc',
        'monosyncServers: [10.20.30.41]',
        'approvers: [alice]',
        'approvals: unsigned',
        'servers:',
        '  - exch01.corp.example',
        '  - exch02.corp.example',
        '  - exch 01',
        'settings:',
        '  maxParallel: 0',
      ].join('\n')
    );
    const result = await runCli(['onboard', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /servers\[2\]\.fqdn: "exch 01" is not a DNS name/);
    assert.match(result.stderr, /settings\.maxParallel/);
    await assert.rejects(env.client.workflow.getHandle(fleetWorkflowId(fleetId)).describe(), WorkflowNotFoundError);
  });

  it('reports YAML syntax errors by line', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')), 'fleet.yaml');
    fs.writeFileSync(file, 'fleet: x\nservers: [a, b\n');
    const result = await runCli(['onboard', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /line \d+/);
  });

  it('gives a usage error for unknown commands and missing arguments', async () => {
    assert.equal((await runCli(['onbord'])).code, 2);
    const missing = await runCli(['status']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument/);
  });
});
