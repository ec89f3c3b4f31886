/**
 * Approvals bound to the approver by Ed25519 signatures: the fleet file's keys, the rules a signed
 * decision passes (pure), and the same refusals end to end through the decideChange update and signal
 * on the real dev server, then a signed approval (from `fleet approve --key` and from
 * `fleet sign-decision`, as pasted into the Web UI) that goes through.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { decisionForServer, type DecisionInput, type StandingDecision } from '../domain/approvals';
import type { FleetStatus } from '../domain/status';
import { fleetSummary } from '../client/views';
import { renderFleetDetails } from '../workflows/render';
import { validateFleet } from '../domain/fleet';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import {
  parsePublicKey,
  publicKeyOfSeed,
  SIGNATURE_WINDOW_MS,
  signatureRefusal,
  signedText,
  VerificationBudget,
  VERIFICATIONS_PER_TASK,
  signText,
  type SignaturePolicy,
  type SignedFields,
} from '../domain/signatures';
import { LabRunner } from '../lab/lab-runner';
import { readPrivateKeySeed, signFields } from '../client/commands/sign-decision';
import { onboardServer } from '../workflows';
import {
  decideChangeSignal,
  decideChangeUpdate,
  decideKindUpdate,
  resolveStepUpdate,
  standingDecisionSignal,
} from '../workflows/messages';
import { testApproverKey } from './support/approver-keys';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { expectRefused, waitForPending, waitForStatus } from './support/server-status';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';

const keys = { alice: testApproverKey('alice'), bob: testApproverKey('bob'), mallory: testApproverKey('mallory') };
const seed = (name: keyof typeof keys) => readPrivateKeySeed(keys[name].keyFile);
const publicKeyOf = (name: keyof typeof keys) => {
  const parsed = parsePublicKey(keys[name].publicKey);
  assert.ok(parsed.ok);
  return parsed.key;
};

/** A fleet whose approvers alice and bob hold keys (mallory's key is not listed). */
const signedApprovers = [
  { name: 'alice', key: keys.alice.publicKey },
  { name: 'bob', key: keys.bob.publicKey },
];

describe('approvers and their keys in the fleet file', () => {
  const base = {
    fleet: 'keys-test',
    serviceAccount: 'CORP\\monosync_svc',
    monosyncServers: ['10.20.30.41'],
    servers: ['exch01.corp.example'],
  };

  it('takes OpenSSH and raw base64 Ed25519 keys, and signed approvals by default', () => {
    const raw = publicKeyOf('bob');
    const result = validateFleet({ ...base, approvers: [signedApprovers[0], { name: 'bob', key: raw }] });
    assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
    assert.equal(result.spec.approvals, 'signed');
    assert.deepEqual(result.spec.approvers, ['alice', 'bob']);
    assert.deepEqual(result.spec.approverKeys, { alice: publicKeyOf('alice'), bob: raw });
  });

  it('refuses an approver without a key unless the fleet says approvals: unsigned, and keys that are not Ed25519', () => {
    const unsignedName = validateFleet({ ...base, approvers: ['alice'] });
    assert.ok(!unsignedName.ok);
    assert.match(unsignedName.problems.join('\n'), /approvers\[0\]: alice has no key.*approvals: unsigned/);
    const lab = validateFleet({ ...base, approvers: ['alice'], approvals: 'unsigned' });
    assert.ok(lab.ok);
    assert.equal(lab.spec.approvals, 'unsigned');
    const rsa = validateFleet({ ...base, approvers: [{ name: 'alice', key: 'ssh-rsa AAAAB3NzaC1yc2E alice' }] });
    assert.ok(!rsa.ok);
    assert.match(rsa.problems.join('\n'), /approvers\[0\]\.key: ssh-rsa keys are not supported/);
    const short = validateFleet({ ...base, approvers: [{ name: 'alice', key: 'AAAA' }] });
    assert.ok(!short.ok);
    assert.match(short.problems.join('\n'), /approvers\[0\]\.key: not an Ed25519 public key/);
  });
});

describe('approver key files', () => {
  const sshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;

  it(
    'reads an OpenSSH Ed25519 key as ssh-keygen writes it; its public line verifies what it signs',
    { skip: !sshKeygen && 'no ssh-keygen' },
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openssh-key-'));
      const file = path.join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'carol@test', '-f', file]);
      const publicKey = parsePublicKey(fs.readFileSync(`${file}.pub`, 'utf8'));
      assert.ok(publicKey.ok);
      const seedOfFile = readPrivateKeySeed(file);
      assert.equal(publicKeyOfSeed(seedOfFile), publicKey.key);
      const policy: SignaturePolicy = { approvals: 'signed', fleetId: 'f1', keys: { carol: publicKey.key } };
      const fields: SignedFields = {
        kind: 'operator',
        fleetId: 'f1',
        server: 'a.corp.example',
        action: 'retry',
        signer: 'carol',
        reason: 'r',
      };
      const signature = signFields(seedOfFile, fields);
      assert.equal(signatureRefusal(policy, fields, signature, Date.now(), new Set(), new VerificationBudget()), null);

      const locked = path.join(dir, 'id_locked');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret passphrase', '-f', locked]);
      assert.throws(() => readPrivateKeySeed(locked), /encrypted with a passphrase/);
      assert.throws(
        () => readPrivateKeySeed(`${file}.pub`),
        (err: Error) => {
          assert.match(err.message, /not an Ed25519 private key/);
          assert.ok(!err.message.includes('AAAA'), 'the error does not print the file');
          return true;
        }
      );
    }
  );
});

describe('the rules a signed decision passes', () => {
  const policy: SignaturePolicy = {
    approvals: 'signed',
    fleetId: 'f1',
    keys: { alice: publicKeyOf('alice'), bob: publicKeyOf('bob') },
  };
  const fields: SignedFields = {
    kind: 'change',
    fleetId: 'f1',
    server: 'exch01.corp.example',
    changeId: 'exch01.corp.example/setTrustedHosts/trusted-hosts-wildcard',
    changeText: "TrustedHosts '' -> '*'",
    decision: 'approve',
    signer: 'bob',
    reason: 'CAB-1',
  };
  const now = Date.parse('2026-12-01T10:00:00.000Z');
  const signedAt = new Date(now - 60_000);
  const good = signFields(seed('bob'), fields, signedAt);

  const cases: Array<[string, () => string | null, RegExp | null]> = [
    [
      'a correct signature',
      () => signatureRefusal(policy, fields, good, now, new Set(), new VerificationBudget()),
      null,
    ],
    [
      'unsigned',
      () => signatureRefusal(policy, fields, undefined, now, new Set(), new VerificationBudget()),
      /^unsigned decision/,
    ],
    [
      'signed with another key',
      () =>
        signatureRefusal(
          policy,
          fields,
          signFields(seed('mallory'), fields, signedAt),
          now,
          new Set(),
          new VerificationBudget()
        ),
      /^wrong signature/,
    ],
    [
      'change text tampered with',
      () =>
        signatureRefusal(
          policy,
          { ...fields, changeText: "TrustedHosts '' -> 'evil'" },
          good,
          now,
          new Set(),
          new VerificationBudget()
        ),
      /^wrong signature/,
    ],
    [
      'moved to another decision',
      () => signatureRefusal(policy, { ...fields, decision: 'reject' }, good, now, new Set(), new VerificationBudget()),
      /^wrong signature/,
    ],
    [
      'replayed nonce',
      () => signatureRefusal(policy, fields, good, now, new Set([good.nonce]), new VerificationBudget()),
      /^replayed decision/,
    ],
    [
      'expired',
      () =>
        signatureRefusal(
          policy,
          fields,
          signFields(seed('bob'), fields, new Date(now - SIGNATURE_WINDOW_MS - 1000)),
          now,
          new Set(),
          new VerificationBudget()
        ),
      /^expired signature/,
    ],
    [
      'signer with no key',
      () => signatureRefusal(policy, { ...fields, signer: 'mallory' }, good, now, new Set(), new VerificationBudget()),
      /mallory has no public key/,
    ],
    [
      'unsigned in a lab fleet',
      () =>
        signatureRefusal(
          { ...policy, approvals: 'unsigned' },
          fields,
          undefined,
          now,
          new Set(),
          new VerificationBudget()
        ),
      null,
    ],
  ];
  it('checks at most VERIFICATIONS_PER_TASK signatures per workflow task, so a flood cannot hold the workflow thread', () => {
    const budget = new VerificationBudget();
    const forged = signFields(seed('mallory'), fields, signedAt);
    const refusals = Array.from({ length: VERIFICATIONS_PER_TASK + 5 }, () =>
      signatureRefusal(policy, fields, forged, now, new Set(), budget)
    );
    assert.ok(refusals.slice(0, VERIFICATIONS_PER_TASK).every((r) => /^wrong signature/.test(r ?? '')));
    assert.ok(refusals.slice(VERIFICATIONS_PER_TASK).every((r) => /^too many signed messages at once/.test(r ?? '')));
    // The next task (a later workflow time) checks again; a good signature then goes through.
    assert.equal(signatureRefusal(policy, fields, good, now + 1, new Set(), budget), null);
  });

  for (const [name, check, expected] of cases) {
    it(`${name}: ${expected ? `refused (${expected.source})` : 'accepted'}`, () => {
      const refusal = check();
      if (expected) assert.match(refusal ?? '(accepted)', expected);
      else assert.equal(refusal, null);
    });
  }
});

describe('where a fleet says its approvals are unsigned', () => {
  const status: FleetStatus = {
    fleetId: 'lab',
    requestedBy: 'carol',
    counts: { total: 1, started: 1, byPhase: { onboarded: 1 } },
    servers: { 'exch01.corp.example': 'onboarded' },
    inFlight: [],
    standingDecisions: [],
    refused: [],
    refusedCount: 0,
    run: 1,
    done: true,
  };

  it('fleet status says so for an unsigned fleet (and a run from before signing), not for a signed one', () => {
    assert.match(fleetSummary({ ...status, approvals: 'unsigned' }), /approvals: unsigned \(a lab\)/);
    assert.match(fleetSummary(status), /approvals: unsigned/);
    assert.doesNotMatch(fleetSummary({ ...status, approvals: 'signed' }), /unsigned/);
  });

  it('and that its requester is self-asserted, in status and in the Web UI details', () => {
    const unsigned: FleetStatus = { ...status, approvals: 'unsigned' };
    assert.match(fleetSummary(unsigned), /approvals: unsigned \(a lab\).*the requester is self-asserted/);
    assert.match(renderFleetDetails(unsigned, 'default'), /the requester is self-asserted/);
    assert.doesNotMatch(renderFleetDetails({ ...status, approvals: 'signed' }, 'default'), /self-asserted/);
  });

  it('a signed fleet decision reaches each server with the whole list it signed; an unsigned one is cut down', () => {
    const listed: StandingDecision = {
      kind: 'trusted-hosts-wildcard',
      servers: ['a.corp.example', 'b.corp.example'],
      decision: 'approve',
      approver: 'bob',
      reason: 'CAB-1',
      at: '2026-12-01T10:00:00.000Z',
    };
    assert.deepEqual(decisionForServer(listed, 'a.corp.example')?.servers, ['a.corp.example']);
    const signature = signFields(seed('bob'), {
      kind: 'fleet-kind',
      fleetId: 'f1',
      riskKind: listed.kind,
      servers: listed.servers,
      decision: 'approve',
      signer: 'bob',
      reason: 'CAB-1',
    });
    assert.deepEqual(decisionForServer({ ...listed, signature }, 'a.corp.example')?.servers, listed.servers);
  });
});

describe('signed approvals on a running server', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('refuses unsigned, wrongly signed, tampered, replayed, expired, unlisted and self decisions by update and by signal; signed ones go through', async () => {
    // Two risky changes: setCbtHardening (None) first, then setTrustedHosts.
    const spec = testFleet(1, {
      approvers: signedApprovers,
      approvals: 'signed',
      policy: { ...ONE_APPROVAL_POLICY, cbtHardeningLevel: 'None' },
      settings: { stepRetry: FAST_RETRY },
    });
    const estate = estateFor(spec);
    const fqdn = spec.servers[0].fqdn;
    const cbtChange = changeId(fqdn, 'setCbtHardening', 'cbt-none');
    const hostsChange = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server: WorkflowHandle<typeof onboardServer> = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const cli = { TEMPORAL_TASK_QUEUE: env.taskQueue };

    const result = await withWorkers(env, new LabRunner(estate), async () => {
      const fleet = await startFleet(env, spec, 'alice');
      try {
        const pendingCbt = await waitForPending(server, cbtChange);
        const cbtText = pendingCbt.pendingApprovals[0].change.text;
        const fieldsFor = (id: string, text: string, signer = 'bob'): SignedFields => ({
          kind: 'change',
          fleetId: spec.fleetId,
          server: fqdn,
          changeId: id,
          changeText: text,
          decision: 'approve',
          signer,
          reason: 'CAB-1',
        });
        const unsigned = { changeId: cbtChange, decision: 'approve', approver: 'bob', reason: 'CAB-1' } as const;
        const signedBy = (who: keyof typeof keys, approver: string, text = cbtText, at = new Date()) => ({
          ...unsigned,
          approver,
          signature: signFields(seed(who), fieldsFor(cbtChange, text, approver), at),
        });
        const refusals: Array<[string, DecisionInput, RegExp]> = [
          ['unsigned', unsigned, /unsigned decision/],
          ["bob's decision signed with mallory's key", signedBy('mallory', 'bob'), /wrong signature/],
          ['tampered change text', signedBy('bob', 'bob', `${cbtText} (and more)`), /wrong signature/],
          [
            'expired',
            signedBy('bob', 'bob', cbtText, new Date(Date.now() - SIGNATURE_WINDOW_MS - 60_000)),
            /expired signature/,
          ],
          ['approver not listed', signedBy('mallory', 'mallory'), /mallory is not an approver/],
          ['approver is the requester', signedBy('alice', 'alice'), /alice started this run.*four eyes/],
        ];
        for (const [name, input, why] of refusals) {
          await expectRefused(
            server.executeUpdate(decideChangeUpdate, { args: [input] }),
            'DecisionRefused',
            why
          ).catch((err: unknown) => {
            throw new Error(`update, ${name}: ${String(err)}`);
          });
          await server.signal(decideChangeSignal, input);
        }
        const refused = await waitForStatus(server, (s) => s.refusedCount >= refusals.length);
        assert.deepEqual(
          refused.refused.map((r) => r.via),
          refusals.map(() => 'signal')
        );
        refusals.forEach(([name, , why], i) => assert.match(refused.refused[i].refusal, why, `signal, ${name}`));
        assert.equal(refused.phase, 'awaiting-approval');
        assert.deepEqual(refused.decisions, []);

        // A signed approval from the CLI (`fleet approve --key`) goes through.
        const approved = await runCli(
          ['approve', spec.fleetId, cbtChange, '--as', 'bob', '--reason', 'CAB-1', '--key', keys.bob.keyFile],
          cli
        );
        assert.equal(approved.code, 0, approved.stderr);
        const pendingHosts = await waitForPending(server, hostsChange);
        const [cbtDecision] = pendingHosts.decisions;
        assert.ok(cbtDecision.signature, 'the recorded decision keeps its signature');

        // Replayed: a correct signature on the next change, but with the nonce of the decision just taken.
        const hostsText = pendingHosts.pendingApprovals[0].change.text;
        const fresh = signFields(seed('bob'), fieldsFor(hostsChange, hostsText));
        const replayed: DecisionInput = {
          ...unsigned,
          changeId: hostsChange,
          signature: {
            ...fresh,
            nonce: cbtDecision.signature.nonce,
            value: signText(
              seed('bob'),
              signedText(fieldsFor(hostsChange, hostsText), fresh.at, cbtDecision.signature.nonce)
            ),
          },
        };
        await expectRefused(
          server.executeUpdate(decideChangeUpdate, { args: [replayed] }),
          'DecisionRefused',
          /replayed decision/
        );
        await server.signal(decideChangeSignal, replayed);
        const afterReplay = await waitForStatus(server, (s) => s.refusedCount > refusals.length);
        assert.match(afterReplay.refused.at(-1)?.refusal ?? '', /replayed decision/);

        // The Web UI path: `fleet sign-decision` prints the JSON an approver pastes as the signal.
        const printed = await runCli(
          ['sign-decision', spec.fleetId, hostsChange, '--as', 'bob', '--reason', 'CAB-2', '--key', keys.bob.keyFile],
          cli
        );
        assert.equal(printed.code, 0, printed.stderr);
        assert.doesNotMatch(printed.stdout, /PRIVATE KEY/);
        await server.signal(decideChangeSignal, JSON.parse(printed.stdout) as DecisionInput);
      } catch (err) {
        await fleet.cancel().catch(() => undefined);
        await server.cancel().catch(() => undefined);
        throw err;
      }
      await fleet.result();
      return server.result();
    });
    assert.equal(result.phase, 'onboarded', result.notes.join('; '));
    assert.deepEqual(
      result.decisions.map((d) => [d.changeId, d.approver, d.via, d.signature !== undefined]),
      [
        [cbtChange, 'bob', 'update', true],
        [hostsChange, 'bob', 'signal', true],
      ]
    );
    assert.equal(estate.host(fqdn).trustedHosts.value, '*');
  });

  it('fleet-level decisions, fleet decisions sent straight to a server, and operator actions are signed too', async () => {
    const spec = testFleet(2, {
      approvers: signedApprovers,
      approvals: 'signed',
      policy: ONE_APPROVAL_POLICY,
      settings: { maxFailurePercent: 100, stepRetry: FAST_RETRY },
    });
    const [approving, stuck] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec);
    estate.injectFault({ kind: 'error', code: 'CertNoPrivateKey', host: stuck, script: 'Set-HttpsListener' });
    const hostsChange = changeId(approving, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const handleOf = (fqdn: string): WorkflowHandle<typeof onboardServer> =>
      env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const cli = { TEMPORAL_TASK_QUEUE: env.taskQueue };

    const results = await withWorkers(env, new LabRunner(estate), async () => {
      const fleet = await startFleet(env, spec, 'alice');
      try {
        await waitForPending(handleOf(approving), hostsChange);
        // Anyone who can signal the server could send this: unsigned, it is refused and nothing is approved.
        const forged: StandingDecision = {
          kind: 'trusted-hosts-wildcard',
          servers: 'all',
          decision: 'approve',
          approver: 'bob',
          reason: 'CAB-9',
          at: new Date().toISOString(),
        };
        await handleOf(approving).signal(standingDecisionSignal, forged);
        const afterForged = await waitForStatus(handleOf(approving), (s) => s.refusedCount >= 1);
        assert.match(afterForged.refused[0].refusal, /unsigned decision/);
        assert.equal(afterForged.refused[0].via, 'fleet');
        assert.deepEqual(afterForged.decisions, []);

        const { at: _at, ...unsignedKind } = forged;
        await expectRefused(
          fleet.executeUpdate(decideKindUpdate, { args: [unsignedKind] }),
          'DecisionRefused',
          /unsigned decision/
        );
        const wrongKey = await runCli(
          ['approve', spec.fleetId, '--kind', 'trusted-hosts-wildcard', '--as', 'bob', '--reason', 'CAB-9'],
          { ...cli, FLEET_APPROVER_KEY_FILE: keys.mallory.keyFile }
        );
        assert.equal(wrongKey.code, 1);
        assert.match(wrongKey.stderr, /wrong signature/);
        const byKind = await runCli(
          ['approve', spec.fleetId, '--kind', 'trusted-hosts-wildcard', '--as', 'bob', '--reason', 'CAB-9'],
          { ...cli, FLEET_APPROVER_KEY_FILE: keys.bob.keyFile }
        );
        assert.equal(byKind.code, 0, byKind.stderr);

        const waiting = await waitForStatus(handleOf(stuck), (s) => s.phase === 'awaiting-operator');
        assert.equal(waiting.awaitingOperator?.step, 'ensureHttpsListener');
        const retry = { action: 'retry', operator: 'bob', reason: 'enrolled a key' } as const;
        await expectRefused(
          handleOf(stuck).executeUpdate(resolveStepUpdate, { args: [retry] }),
          'DecisionRefused',
          /unsigned decision/
        );
        const forgedRetry = {
          ...retry,
          signature: signFields(seed('mallory'), {
            kind: 'operator',
            fleetId: spec.fleetId,
            server: stuck,
            action: 'retry',
            signer: 'bob',
            reason: 'enrolled a key',
          }),
        };
        await expectRefused(
          handleOf(stuck).executeUpdate(resolveStepUpdate, { args: [forgedRetry] }),
          'DecisionRefused',
          /wrong signature/
        );
        estate.clearFaults();
        const retried = await runCli(
          ['retry', spec.fleetId, stuck, '--as', 'bob', '--reason', 'enrolled a key', '--key', keys.bob.keyFile],
          cli
        );
        assert.equal(retried.code, 0, retried.stderr);
      } catch (err) {
        await fleet.cancel().catch(() => undefined);
        throw err;
      }
      await fleet.result();
      return Promise.all([handleOf(approving).result(), handleOf(stuck).result()]);
    });
    for (const result of results) assert.equal(result.phase, 'onboarded', result.notes.join('; '));
    const [decision] = results[0].decisions;
    assert.deepEqual([decision.changeId, decision.approver, decision.via], [hostsChange, 'bob', 'fleet']);
    assert.ok(decision.signature, 'the fleet decision reached the server with its signature');
  });
});
