/** The `fleet` CLI end to end: each command run as a process against the dev server, output and exit code. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { serverStatusQuery } from '../workflows/messages';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

describe('fleet CLI', () => {
  let env: TestEnv;
  let cli: NodeJS.ProcessEnv;
  before(async () => {
    env = await testEnv();
    cli = { TEMPORAL_TASK_QUEUE: env.taskQueue };
  });
  after(async () => env.close());

  const pendingCount = async (fqdn: string): Promise<number> =>
    (
      await env.client.workflow
        .getHandle(serverWorkflowId(fqdn))
        .query(serverStatusQuery)
        .catch(() => undefined)
    )?.pendingApprovals.length ?? 0;

  it('onboard, approvals, approve, reject, status, report and cancel', async () => {
    const spec = testFleet(3, { policy: ONE_APPROVAL_POLICY });
    const file = writeFleetFile(spec);
    const [a, b, c] = spec.servers.map((s) => s.fqdn);
    const ids = spec.servers.map((s) => `${s.fqdn}/setTrustedHosts/trusted-hosts-wildcard`);
    const estate = estateFor(spec);
    await withWorkers(env, new LabRunner(estate), async () => {
      const started = await runCli(['onboard', file, '--as', 'alice'], cli);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, new RegExp(`started fleet ${spec.fleetId}: 3 servers, requested by alice`));
      assert.match(started.stdout, /http:\/\/localhost:8233\/namespaces\/default\/workflows\/fleet%2F/);
      await waitFor(
        async () => (await Promise.all([a, b, c].map(pendingCount))).every((n) => n === 1),
        'three approvals pending'
      );

      const listed = await runCli(['approvals', spec.fleetId], cli);
      assert.equal(listed.code, 0, listed.stderr);
      for (const id of ids) assert.ok(listed.stdout.includes(id), `approvals lists ${id}`);
      assert.match(listed.stdout, /: TrustedHosts '' -> '\*'/);
      assert.match(listed.stdout, /why risky: TrustedHosts turns off server identity checks/);
      assert.match(listed.stdout, /approve: {3}npm run fleet -- approve /);

      const self = await runCli(['approve', spec.fleetId, ids[2], '--as', 'alice', '--reason', 'my own change'], cli);
      assert.equal(self.code, 1);
      assert.match(self.stderr, /alice started this run and cannot approve its changes/);
      const outsider = await runCli(
        ['approve', spec.fleetId, ids[2], '--as', 'mallory', '--reason', 'looks fine'],
        cli
      );
      assert.equal(outsider.code, 1);
      assert.match(outsider.stderr, /mallory is not an approver of this fleet/);
      const noReason = await runCli(['approve', spec.fleetId, ids[2], '--as', 'bob'], cli);
      assert.equal(noReason.code, 2);
      assert.match(noReason.stderr, /--reason is required/);
      const malformed = await runCli(
        ['approve', spec.fleetId, 'not-a-change', '--as', 'bob', '--reason', 'CAB-7'],
        cli
      );
      assert.equal(malformed.code, 2);
      assert.match(malformed.stderr, /"not-a-change" is not a change id/);
      const badPerson = await runCli(['approve', spec.fleetId, ids[2], '--as', 'bob smith', '--reason', 'CAB-7'], cli);
      assert.equal(badPerson.code, 2);
      assert.match(badPerson.stderr, /--as "bob smith": .* is not a person id/);
      const badKind = await runCli(
        ['approve', spec.fleetId, '--kind', 'everything', '--as', 'bob', '--reason', 'CAB-7'],
        cli
      );
      assert.equal(badKind.code, 2);
      assert.match(badKind.stderr, /Allowed choices are .*trusted-hosts-wildcard/);

      const approved = await runCli(['approve', spec.fleetId, ids[0], ids[1], '--as', 'bob', '--reason', 'CAB-7'], cli);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, new RegExp(`${ids[0]}: approved by bob`));
      assert.match(approved.stdout, new RegExp(`${ids[1]}: approved by bob`));
      const twice = await runCli(['approve', spec.fleetId, ids[0], '--as', 'bob', '--reason', 'CAB-7'], cli);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /refused: (change .* has already been decided|no pending change)/);
      const rejected = await runCli(
        ['reject', spec.fleetId, ids[2], '--as', 'bob', '--reason', 'Kerberos by FQDN instead'],
        cli
      );
      assert.equal(rejected.code, 0, rejected.stderr);
      assert.match(rejected.stdout, /rejected by bob/);

      const fleet: FleetStatus = await env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId)).result();
      assert.deepEqual(fleet.servers, { [a]: 'onboarded', [b]: 'onboarded', [c]: 'needs-attention' });
      assert.equal(estate.host(a).trustedHosts.value, '*');
      assert.equal(estate.host(c).trustedHosts.value, '');

      const status = await runCli(['status', spec.fleetId], cli);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /3\/3 started, done/);
      assert.match(status.stdout, new RegExp(`${c.replace(/\./g, '\\.')}\\s*│ needs-attention`));

      const report = await runCli(['report', spec.fleetId], cli);
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stdout, new RegExp(`# Fleet ${spec.fleetId}`));
      assert.match(report.stdout, new RegExp(`${ids[0]}: approve by bob at .* via update: CAB-7`));
      assert.match(report.stdout, new RegExp(`${ids[2]}: reject by bob .*: Kerberos by FQDN instead`));
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-')), 'report.json');
      const json = await runCli(['report', spec.fleetId, '--format', 'json', '--out', out], cli);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(fs.readFileSync(out, 'utf8')) as { fleet: FleetStatus; servers: ServerStatus[] };
      assert.equal(parsed.servers.length, 3);
      assert.equal(parsed.servers.find((s) => s.fqdn === c)?.decisions[0].decision, 'reject');
      const badFormat = await runCli(['report', spec.fleetId, '--format', 'pdf'], cli);
      assert.equal(badFormat.code, 2);

      const cancelDone = await runCli(['cancel', spec.fleetId], cli);
      assert.equal(cancelDone.code, 0);
      assert.match(cancelDone.stdout, /already finished/);
    });
  });

  it('onboard --wait follows the fleet with a progress bar until it is done', async () => {
    const spec = testFleet(2, { policy: SAFE_POLICY });
    const file = writeFleetFile(spec);
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      const result = await runCli(['onboard', file, '--as', 'carol', '--wait'], cli);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /onboarding \[.*\] 2\/2 servers done/);
      assert.match(result.stdout, /onboarded 2/);
    });
  });

  it('cancel stops a running fleet and its servers', async () => {
    const spec = testFleet(2, { policy: ONE_APPROVAL_POLICY });
    const file = writeFleetFile(spec);
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      assert.equal((await runCli(['onboard', file, '--as', 'carol'], cli)).code, 0);
      await waitFor(
        async () => (await pendingCount(spec.servers[0].fqdn)) === 1,
        'the first server waits for approval'
      );
      const cancelled = await runCli(['cancel', spec.fleetId], cli);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.match(cancelled.stdout, /cancellation requested/);
      const fleet = await env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId));
      await waitFor(async () => (await fleet.describe()).status.name === 'CANCELLED', 'the fleet is cancelled');
      for (const server of spec.servers) {
        await waitFor(
          async () =>
            (await env.client.workflow.getHandle(serverWorkflowId(server.fqdn)).describe()).status.name === 'CANCELLED',
          `${server.fqdn} is cancelled`
        );
      }
    });
  });

  it('unknown fleets, unknown commands and help', async () => {
    for (const args of [
      ['approvals', 'nope-fleet'],
      ['report', 'nope-fleet'],
      ['cancel', 'nope-fleet'],
      [
        'approve',
        'nope-fleet',
        'x.corp.example/setTrustedHosts/trusted-hosts-wildcard',
        '--as',
        'bob',
        '--reason',
        'CAB-7',
      ],
    ]) {
      const result = await runCli(args, cli);
      assert.equal(result.code, 3, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no fleet "nope-fleet"/);
    }
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    const commands = [
      'onboard',
      'plan',
      'status',
      'approvals',
      'approve',
      'reject',
      'retry',
      'skip',
      'abort',
      'report',
      'cancel',
      'failures',
      'rotation',
      'audit',
    ];
    for (const command of commands) assert.match(help.stdout, new RegExp(`\\n  ${command} `));
    for (const command of commands) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`Usage: fleet ${command}`));
    }
  });
});
