/**
 * The requester bound like an approver: `fleet onboard --key` signs the request (fleet, requester,
 * spec digest, time, nonce); the CLI refuses a bad request with exit 2 naming the field, the fleet
 * workflow refuses it too when started straight from a client, a proven requester cannot approve their
 * own run, and keys held by a real ssh-agent sign requests and decisions.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startFleetWorkflow } from '../client/fleet-handles';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { signerFrom, signRequest } from '../client/signing-keys';
import { agentIdentities } from '../client/ssh-agent';
import { signingPolicyOf, validateFleet, type FleetSpec } from '../domain/fleet';
import { contextOf } from '../domain/onboarding';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { canonicalJson, fleetSpecDigest, requestRefusal, type RequestSignature } from '../domain/request-signature';
import { changeId } from '../domain/risk';
import { parsePublicKey, SIGNATURE_WINDOW_MS, verifySignature } from '../domain/signatures';
import type { ServerRunInput } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { onboardFleet, onboardServer } from '../workflows';
import { testApproverKey } from './support/approver-keys';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, writeFleetFile } from './support/fleet-files';
import { waitForFinal, waitForPending } from './support/server-status';
import { FAST_RETRY, testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

const keys = {
  alice: testApproverKey('alice'),
  bob: testApproverKey('bob'),
  carol: testApproverKey('carol'),
  mallory: testApproverKey('mallory'),
};
const rawKey = (line: string): string => {
  const parsed = parsePublicKey(line);
  assert.ok(parsed.ok);
  return parsed.key;
};

/** Approvers alice and bob, and carol who may start the fleet but not approve; mallory is not listed. */
function signedFleet(servers = 1, overrides: Record<string, unknown> = {}): FleetSpec {
  return testFleet(servers, {
    approvers: [
      { name: 'alice', key: keys.alice.publicKey },
      { name: 'bob', key: keys.bob.publicKey },
    ],
    requesters: [{ name: 'carol', key: keys.carol.publicKey }],
    approvals: 'signed',
    policy: ONE_APPROVAL_POLICY,
    settings: { stepRetry: FAST_RETRY },
    ...overrides,
  });
}

async function signedBy(who: keyof typeof keys, spec: FleetSpec, requester: string, at?: Date) {
  const signer = await signerFrom({ key: keys[who].keyFile });
  assert.ok(signer);
  return signRequest(signer, spec, requester, at);
}

function writeJson(value: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'request-signature-')), 'signature.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

/** The bad requests every layer refuses, with the field their refusal names. */
async function badRequests(spec: FleetSpec): Promise<Array<[string, string, unknown, RegExp]>> {
  const good = await signedBy('carol', spec, 'carol');
  return [
    ['unsigned', 'carol', undefined, /^requestSignature: missing: .*--key/],
    [
      'forged (a signature value made up)',
      'carol',
      { ...good, value: Buffer.alloc(64, 7).toString('base64') },
      /^requestSignature\.value: wrong signature/,
    ],
    [
      "carol's request signed with bob's key",
      'carol',
      await signedBy('bob', spec, 'carol'),
      /^requestSignature\.value: wrong signature: it does not match carol's key/,
    ],
    [
      'expired',
      'carol',
      await signedBy('carol', spec, 'carol', new Date(Date.now() - SIGNATURE_WINDOW_MS - 60_000)),
      /^requestSignature\.at: expired/,
    ],
    [
      'signed for another spec',
      'carol',
      await signedBy('carol', { ...spec, settings: { ...spec.settings, maxParallel: 1 } }, 'carol'),
      /^requestSignature\.specDigest: carol signed another fleet spec/,
    ],
    [
      'a requester the fleet file does not list',
      'mallory',
      await signedBy('mallory', spec, 'mallory'),
      /^requestedBy: mallory has no public key/,
    ],
    ['malformed', 'carol', { ...good, nonce: 'short' }, /^malformed message: requestSignature\.nonce/],
  ];
}

describe('requests signed by their requester', () => {
  it('the spec digest is the same whatever the key order, and after the JSON round trip a workflow input takes', () => {
    const spec = signedFleet();
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as unknown as FleetSpec;
    assert.equal(canonicalJson({ b: 1, a: [1, { d: undefined, c: 2 }] }), '{"a":[1,{"c":2}],"b":1}');
    assert.equal(fleetSpecDigest(reordered), fleetSpecDigest(spec));
    assert.equal(
      fleetSpecDigest(JSON.parse(JSON.stringify({ ...spec, description: undefined })) as FleetSpec),
      fleetSpecDigest(spec)
    );
    assert.notEqual(fleetSpecDigest({ ...spec, servers: spec.servers.slice(0, 0) }), fleetSpecDigest(spec));
  });

  it('accepts a request signed by its requester (a requester or an approver), refuses the rest naming the field', async () => {
    const spec = signedFleet();
    const now = Date.now();
    assert.equal(requestRefusal(spec, 'carol', await signedBy('carol', spec, 'carol'), now), null);
    assert.equal(requestRefusal(spec, 'bob', await signedBy('bob', spec, 'bob'), now), null);
    for (const [name, requester, signature, why] of await badRequests(spec)) {
      assert.match(requestRefusal(spec, requester, signature, now) ?? '(accepted)', why, name);
    }
    // A lab takes the requester as it says it is.
    assert.equal(requestRefusal({ ...spec, approvals: 'unsigned' }, 'anyone', undefined, now), null);
  });

  it('the fleet file lists requesters with keys; a signed fleet refuses one without a key or with a second key', () => {
    const base = {
      fleet: 'requesters-test',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.20.30.41'],
      servers: ['exch01.corp.example'],
      approvers: [{ name: 'alice', key: keys.alice.publicKey }],
    };
    const ok = validateFleet({ ...base, requesters: [{ name: 'carol', key: keys.carol.publicKey }] });
    assert.ok(ok.ok, ok.ok ? '' : ok.problems.join('; '));
    assert.deepEqual(ok.spec.requesterKeys, { carol: rawKey(keys.carol.publicKey) });
    const noKey = validateFleet({ ...base, requesters: ['carol'] });
    assert.ok(!noKey.ok);
    assert.match(noKey.problems.join('\n'), /requesters\[0\]: carol has no key/);
    const twoKeys = validateFleet({ ...base, requesters: [{ name: 'alice', key: keys.bob.publicKey }] });
    assert.ok(!twoKeys.ok);
    assert.match(twoKeys.problems.join('\n'), /requesters\[0\]\.key: alice is also an approver with another key/);
  });

  it('npm start with a signed fleet file wants the requester key and refuses --once, exit 2, before starting anything', () => {
    const file = writeFleetFile(signedFleet());
    const start = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'start.ts'), '--file', file, ...args],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, FLEET_USER: 'carol', FLEET_APPROVER_KEY_FILE: '' },
          encoding: 'utf8',
        }
      );
    const unsigned = start();
    assert.equal(unsigned.status, 2, unsigned.stderr);
    assert.match(
      unsigned.stderr,
      /approvals: signed: sign the request as carol with --key <private key file> or --ssh-agent/
    );
    const once = start('--once', '--key', keys.carol.keyFile);
    assert.equal(once.status, 2, once.stderr);
    assert.match(once.stderr, /--once cannot approve for its approvers/);
    // A mistyped option is named in one line, not a stack trace.
    const typo = start('--key', keys.carol.keyFile, '--ssh-agnet');
    assert.equal(typo.status, 2, typo.stderr);
    assert.match(typo.stderr, /^npm start: Unknown option '--ssh-agnet'/);
    assert.doesNotMatch(typo.stderr, /\n\s+at /);
    assert.doesNotMatch(once.stdout + unsigned.stdout + typo.stdout, /starting the Temporal dev server/);
  });
});

/** Whether a workflow exists (a refused request must have started no server). */
async function exists(env: TestEnv, workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('signed requests on the dev server', () => {
  let env: TestEnv;
  let cli: NodeJS.ProcessEnv;
  before(async () => {
    env = await testEnv();
    cli = { TEMPORAL_TASK_QUEUE: env.taskQueue, FLEET_APPROVER_KEY_FILE: '' };
  });
  after(async () => env.close());

  it('the CLI refuses an unsigned, forged, expired, wrongly keyed or unlisted request with exit 2 naming the field, and starts nothing', async () => {
    const spec = signedFleet();
    const file = writeFleetFile(spec);
    const attempts: Array<[string, string[], RegExp]> = [
      ['no key', ['--as', 'carol'], /requestSignature: missing: .*--key/],
      [
        "carol signing with bob's key",
        ['--as', 'carol', '--key', keys.bob.keyFile],
        /requestSignature\.value: wrong signature/,
      ],
      ['bob claiming to be carol', ['--as', 'carol', '--key', keys.bob.keyFile], /does not match carol's key/],
      [
        'mallory, not in the fleet file',
        ['--as', 'mallory', '--key', keys.mallory.keyFile],
        /requestedBy: mallory has no public key/,
      ],
    ];
    for (const [name, requester, signature, why] of await badRequests(spec)) {
      if (signature === undefined) continue;
      // The CLI puts "fleet <id> not started: " before the workflow's own words.
      const unanchored = new RegExp(why.source.replace(/^\^/, ''));
      attempts.push([`--signature, ${name}`, ['--as', requester, '--signature', writeJson(signature)], unanchored]);
    }
    for (const [name, args, why] of attempts) {
      const result = await runCli(['onboard', file, ...args], cli);
      assert.equal(result.code, 2, `${name}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, new RegExp(`fleet ${spec.fleetId} not started: `), name);
      assert.match(result.stderr, why, name);
    }
    assert.equal(await exists(env, fleetWorkflowId(spec.fleetId)), false, 'no fleet was started');

    // A signature made by `fleet sign-request` (a person signs, a pipeline starts) is taken as it is.
    const printed = await runCli(['sign-request', file, '--as', 'carol', '--key', keys.carol.keyFile], cli);
    assert.equal(printed.code, 0, printed.stderr);
    assert.doesNotMatch(printed.stdout, /PRIVATE KEY/);
    const started = await runCli(
      ['onboard', file, '--as', 'carol', '--signature', writeJson(JSON.parse(printed.stdout))],
      cli
    );
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /requested by carol \(signed request\)/);
    await env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId)).terminate('test: only the start was under test');

    // A lab fleet starts as anyone, and says the requester is only self-asserted.
    const lab = testFleet(1);
    const labStarted = await runCli(['onboard', writeFleetFile(lab), '--as', 'carol'], cli);
    assert.equal(labStarted.code, 0, labStarted.stderr);
    assert.match(labStarted.stdout, /requested by carol \(self-asserted: approvals unsigned\)/);
    await env.client.workflow.getHandle(fleetWorkflowId(lab.fleetId)).terminate('test: only the start was under test');
  });

  it('the fleet workflow refuses the same requests when started straight from a client, before starting any server', async () => {
    const cases = (await badRequests(signedFleet())).length;
    await withWorkers(env, new LabRunner(estateFor(signedFleet())), async () => {
      for (let i = 0; i < cases; i++) {
        // One fleet per case (a fleet id is started once), with the same fault made for its spec.
        const spec = signedFleet();
        const [name, requester, signature, why] = (await badRequests(spec))[i];
        const again = signature as RequestSignature | undefined;
        const { handle } = await startFleetWorkflow(env.client, env.taskQueue, spec, requester, again);
        await assert.rejects(handle.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError, `${name}: ${String(err)}`);
          assert.ok(err.cause instanceof ApplicationFailure, `${name}: ${String(err.cause)}`);
          assert.equal(err.cause.type, 'RequestRefused', name);
          assert.match(err.cause.message, why, name);
          return true;
        });
        assert.equal(await exists(env, serverWorkflowId(spec.servers[0].fqdn)), false, `${name}: no server started`);
      }
    });
  });

  it('a server of a signed fleet started straight from a client, not by its fleet, fails before any step runs', async () => {
    const spec = signedFleet();
    const fqdn = spec.servers[0].fqdn;
    const estate = estateFor(spec);
    const input: ServerRunInput = {
      fleetId: spec.fleetId,
      server: spec.servers[0],
      context: contextOf(spec),
      requestedBy: 'mallory',
      approvers: ['mallory', 'alice'],
      approvalTimeoutMs: 60_000,
      stepRetry: { initialIntervalMs: 100, maximumAttempts: 1 },
      standingDecisions: [],
      signing: signingPolicyOf(spec),
    };
    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await env.client.workflow.start(onboardServer, {
        workflowId: serverWorkflowId(fqdn),
        taskQueue: env.taskQueue,
        args: [input],
      });
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
        assert.equal(err.cause.type, 'NotStartedByFleet');
        assert.match(err.cause.message, /runs only as a child of fleet\/.*started on its own.*fleet onboard --key/);
        return true;
      });
    });
    const calls = Object.values(estate.counters(fqdn)).reduce((n, c) => n + (c?.calls ?? 0), 0);
    assert.equal(calls, 0, 'no script ran against the server');
  });

  it('a signed request starts; its proven requester cannot approve, nor start as someone else to approve', async () => {
    const spec = signedFleet();
    const file = writeFleetFile(spec);
    const fqdn = spec.servers[0].fqdn;
    const change = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server: WorkflowHandle<typeof onboardServer> = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const estate = estateFor(spec);
    const result = await withWorkers(env, new LabRunner(estate), async () => {
      // bob would like to approve his own change: claiming carol started it does not get past her key.
      const disguised = await runCli(['onboard', file, '--as', 'carol', '--key', keys.bob.keyFile], cli);
      assert.equal(disguised.code, 2);
      const started = await runCli(['onboard', file, '--as', 'bob', '--key', keys.bob.keyFile], cli);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, /requested by bob \(signed request\)/);
      await waitForPending(server, change);
      const self = await runCli(
        ['approve', spec.fleetId, change, '--as', 'bob', '--reason', 'my own run', '--key', keys.bob.keyFile],
        cli
      );
      assert.equal(self.code, 1);
      assert.match(self.stderr, /bob started this run and cannot approve its changes.*four eyes/);
      const other = await runCli(
        ['approve', spec.fleetId, change, '--as', 'alice', '--reason', 'CAB-5', '--key', keys.alice.keyFile],
        cli
      );
      assert.equal(other.code, 0, other.stderr);
      const status = await runCli(['status', spec.fleetId], cli);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /started by bob/);
      assert.doesNotMatch(status.stdout, /self-asserted/);
      const fleet: WorkflowHandle<typeof onboardFleet> = env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId));
      await fleet.result();
      return server.result();
    });
    assert.equal(result.phase, 'onboarded', result.notes.join('; '));
    assert.deepEqual(
      result.decisions.map((d) => [d.changeId, d.approver]),
      [[change, 'alice']]
    );
  });

  const sshTools = ['ssh-agent', 'ssh-keygen', 'ssh-add'].filter((tool) => spawnSync('which', [tool]).status !== 0);
  if (sshTools.length > 0) {
    console.error(
      `\n*** SKIPPED: ssh-agent signing is not tested: ${sshTools.join(', ')} not installed (apt-get install openssh-client) ***\n`
    );
  }

  it(
    'keys held by a real ssh-agent sign a request (--ssh-agent) and a decision (--key ssh-agent:<comment>)',
    { skip: sshTools.length > 0 && `${sshTools.join(', ')} not installed (apt-get install openssh-client)` },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-agent-test-'));
      const socket = path.join(dir, 'agent.sock');
      // -D: in the foreground, as this test's own child, ended below by its pid.
      const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      const outerAgent = process.env.SSH_AUTH_SOCK;
      try {
        const deadline = Date.now() + 30_000;
        while (!fs.existsSync(socket)) {
          if (Date.now() > deadline) throw new Error('ssh-agent did not create its socket within 30 s');
          await new Promise((r) => setTimeout(r, 50));
        }
        const agentEnv = { ...process.env, SSH_AUTH_SOCK: socket };
        const publicLines: Record<string, string> = {};
        for (const name of ['dave', 'erin']) {
          const keyFile = path.join(dir, `id_${name}`);
          execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@agent`, '-f', keyFile]);
          execFileSync('ssh-add', ['-q', keyFile], { env: agentEnv, stdio: 'ignore' });
          publicLines[name] = fs.readFileSync(`${keyFile}.pub`, 'utf8').trim();
          fs.rmSync(keyFile); // from here on only the agent holds it
        }
        const listed = await agentIdentities(socket);
        assert.deepEqual(listed.map((k) => k.comment).sort(), ['dave@agent', 'erin@agent']);

        // An agent signature is a plain Ed25519 signature: the fleet file's public line verifies it.
        process.env.SSH_AUTH_SOCK = socket;
        const signer = await signerFrom({ key: 'ssh-agent:erin@agent' });
        assert.ok(signer);
        assert.equal(signer.publicKey, rawKey(publicLines.erin));
        assert.ok(verifySignature(rawKey(publicLines.erin), 'some text', await signer.sign('some text')));
        await assert.rejects(signerFrom({ sshAgent: true }), /several Ed25519 keys .*--key ssh-agent:/);

        const spec = signedFleet(1, {
          approvers: [
            { name: 'alice', key: keys.alice.publicKey },
            { name: 'erin', key: publicLines.erin },
          ],
          requesters: [{ name: 'dave', key: publicLines.dave }],
        });
        const file = writeFleetFile(spec);
        const fqdn = spec.servers[0].fqdn;
        const change = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
        const server: WorkflowHandle<typeof onboardServer> = env.client.workflow.getHandle(serverWorkflowId(fqdn));
        const viaAgent = { ...cli, SSH_AUTH_SOCK: socket };
        const result = await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
          const unknown = await runCli(['onboard', file, '--as', 'dave', '--key', 'ssh-agent:nobody'], viaAgent);
          assert.equal(unknown.code, 2);
          assert.match(unknown.stderr, /ssh-agent holds no such Ed25519 key \(it holds: dave@agent, erin@agent\)/);
          // With two keys in the agent, --ssh-agent takes the one the fleet file lists for dave.
          const started = await runCli(['onboard', file, '--as', 'dave', '--ssh-agent'], viaAgent);
          assert.equal(started.code, 0, started.stderr);
          assert.match(started.stdout, /requested by dave \(signed request\)/);
          await waitForPending(server, change);
          const approved = await runCli(
            ['approve', spec.fleetId, change, '--as', 'erin', '--reason', 'CAB-8', '--key', 'ssh-agent:erin@agent'],
            viaAgent
          );
          assert.equal(approved.code, 0, approved.stderr);
          const final = await waitForFinal(server, 120_000);
          await env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId)).result();
          return final;
        });
        assert.equal(result.phase, 'onboarded', result.notes.join('; '));
        assert.deepEqual(
          result.decisions.map((d) => [d.approver, d.signature !== undefined]),
          [['erin', true]]
        );
      } finally {
        if (outerAgent === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = outerAgent;
        agent.kill();
      }
    }
  );
});
