/**
 * Issue 11 item 12, as properties of the lab host rather than injected faults: a host that refuses the
 * WinRM session before any script runs (an Edge or workgroup server Kerberos cannot reach, UAC remote
 * restrictions, a WinRM policy that listens nowhere) and WinRM restarting under a session already open.
 * Each prints Invoke-Command's error record, which the production parser classifies; an Edge or
 * workgroup server ends the fleet's run as not applicable, not failed and not waiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import type { ServerStatus } from '../domain/status';
import { STEP_MODULES } from '../domain/steps';
import { LabRunner } from '../lab/lab-runner';
import { TRANSPORT_SCENARIOS } from '../lab/scenarios';
import type { SessionText } from '../lab/session-text';
import { ScriptFailure } from '../runner/port';
import { onboardFleet } from '../workflows';
import { callFor, estateFor as labEstateFor, fleet, world } from './lab-fixtures';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

const FQDN = 'exch01.corp.example';

async function failureOf(promise: Promise<unknown>): Promise<ScriptFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, String(err));
    return err;
  }
  assert.fail('expected the session to be refused');
}

void describe('the lab refuses sessions as the host is set up', () => {
  void it("an Edge Transport server (the 'edge' profile): every session refused with the Kerberos record, classified permanent, read as not applicable", async () => {
    const edge = 'edge01.corp.example';
    const spec = fleet([edge]);
    // Not touched before: the first session, the one that would build the host, is refused too.
    const estate = labEstateFor(spec, { [edge]: 'edge' });
    const printed: SessionText[] = [];
    const runner = new LabRunner(estate, { onSessionText: (text) => printed.push(text) });
    for (const step of ['preflight', 'enableRemoting', 'setCbtHardening'] as const) {
      const err = await failureOf(runner.run(callFor(spec, step, 'plan')));
      assert.equal(err.kind.type, 'KerberosUnreachable');
      assert.equal(err.kind.retry, 'permanent');
    }
    assert.match(
      printed[0].stderr,
      /^\[edge01\.corp\.example\] Connecting to remote server edge01\.corp\.example failed with the following error message : WinRM cannot process the request\. The following error occurred while using Kerberos authentication: Cannot find the computer edge01\.corp\.example\./
    );
    assert.equal(printed[0].stdout, '', 'no envelope: no script ran');
    assert.match(
      STEP_MODULES.preflight.hooks.notApplicableWhenFailed?.('KerberosUnreachable') ?? '',
      /Edge Transport or workgroup server/
    );
    assert.equal(STEP_MODULES.preflight.hooks.notApplicableWhenFailed?.('WinRMUnavailable'), null);
  });

  void it('a workgroup server (domainJoined false): the same refusal, and the AD calls still go to the DC', async () => {
    const spec = fleet([FQDN]);
    const estate = labEstateFor(spec);
    TRANSPORT_SCENARIOS.kerberosUnreachable(estate, FQDN);
    const runner = new LabRunner(estate);
    const err = await failureOf(runner.run(callFor(spec, 'grantRemoteManagement', 'apply')));
    assert.equal(err.kind.type, 'KerberosUnreachable');
    assert.match(err.kind.fix, /Edge Transport server stays outside/);
    // The AD step runs on the AD worker against the DC: no session to the server, not refused by it.
    const ad = await runner.run(callFor(spec, 'enableKerberosDelegation', 'plan'));
    assert.equal(ad.ok, true);
  });

  void it('UAC remote restrictions on a local non-built-in administrator: "Access is denied." on every session, nothing changed; LocalAccountTokenFilterPolicy=1 lets it in', async () => {
    const spec = fleet([FQDN]);
    const estate = labEstateFor(spec);
    TRANSPORT_SCENARIOS.uacRemoteRestrictions(estate, FQDN);
    const printed: SessionText[] = [];
    const runner = new LabRunner(estate, { onSessionText: (text) => printed.push(text) });
    const original = world(estate, FQDN);
    for (const step of ['preflight', 'grantRemoteManagement'] as const) {
      const err = await failureOf(runner.run(callFor(spec, step, 'apply')));
      assert.equal(err.kind.type, 'AccessDenied');
      assert.equal(err.kind.retry, 'auth');
      assert.match(err.kind.meaning, /UAC remote restrictions/);
    }
    assert.match(printed[0].stderr, /failed with the following error message : Access is denied\./);
    assert.match(printed[0].stderr, /FullyQualifiedErrorId : AccessDenied,PSSessionStateBroken/);
    assert.deepEqual(world(estate, FQDN), original, 'nothing on the server changed');

    estate.host(FQDN).localAccountTokenFilterPolicy = 1;
    assert.equal((await runner.run(callFor(spec, 'preflight', 'plan'))).ok, true);
  });

  void it('a WinRM policy with both filters empty listens nowhere: the connection-failure record, transient; one family left answers', async () => {
    const spec = fleet([FQDN]);
    const estate = labEstateFor(spec);
    TRANSPORT_SCENARIOS.winrmListensNowhere(estate, FQDN);
    const printed: SessionText[] = [];
    const runner = new LabRunner(estate, { onSessionText: (text) => printed.push(text) });
    const err = await failureOf(runner.run(callFor(spec, 'preflight', 'plan')));
    assert.equal(err.kind.type, 'WinRMUnavailable');
    assert.match(printed[0].stderr, /failed with the following error message : WinRM cannot complete the operation\./);
    assert.match(printed[0].stderr, /FullyQualifiedErrorId : -2144108250,PSSessionStateBroken/);

    // An IPv6 filter of '*' (the gpo-winrm-ipv4-filter profile's): WinRM still listens, the step reports the policy.
    estate.host(FQDN).winrmListenerPolicy = { ipv4Filter: '', ipv6Filter: '*' };
    assert.equal((await runner.run(callFor(spec, 'preflight', 'plan'))).ok, true);
  });

  void it('WinRM restarting drops a session already open: its call ends with the 995 record (ConnectionDropped), the next session is refused', async () => {
    const spec = fleet([FQDN]);
    const estate = labEstateFor(spec, { [FQDN]: 'remoting-disabled' });
    const printed: Array<{ script: string; text: SessionText }> = [];
    // The CBT check is the long call that is open when the task fires; ordering only, no timing asserted.
    const runner = new LabRunner(estate, {
      latencyMs: (call) => (call.script === 'Set-CbtHardening' ? 200 : 10),
      onSessionText: (text, call) => printed.push({ script: call.script, text }),
    });
    const remoting = runner.run(callFor(spec, 'enableRemoting', 'apply'));
    const open = failureOf(runner.run(callFor(spec, 'setCbtHardening', 'plan')));
    assert.equal((await remoting).evidence.scheduledTask, '\\Monosync\\Enable-Remoting');
    // The next session runs the task: WinRM restarts, this session is refused...
    const refused = await failureOf(runner.run(callFor(spec, 'preflight', 'plan')));
    assert.equal(refused.kind.type, 'WinRMUnavailable');
    // ...and the one open since before the restart is dropped mid-call.
    const dropped = await open;
    assert.equal(dropped.kind.type, 'ConnectionDropped');
    assert.equal(dropped.kind.retry, 'transient');
    const text = printed.find((p) => p.script === 'Set-CbtHardening')?.text.stderr ?? '';
    assert.match(
      text,
      /^\[exch01\.corp\.example\] Processing data from remote server exch01\.corp\.example failed with the following error message: The I\/O operation has been aborted/
    );
    assert.match(text, /CategoryInfo {10}: OperationStopped/);
    assert.equal(estate.counters(FQDN)['Set-CbtHardening']?.faults, 1);
    // A session opened after the restart is not dropped by it.
    delete estate.host(FQDN).winrmRestart;
    assert.equal((await runner.run(callFor(spec, 'setCbtHardening', 'plan'))).ok, true);
  });
});

void describe('onboarding an Edge Transport server the snapshot cannot reach', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  void it('ends not applicable with "configure it by hand", not failed and not waiting for an operator', async () => {
    const spec = testFleet(2, { policy: SAFE_POLICY });
    const [edge, member] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(spec, { [edge]: 'edge' });
    const result = await withWorkers(env, new LabRunner(estate), () =>
      env.client.workflow.execute(onboardFleet, {
        workflowId: fleetWorkflowId(spec.fleetId),
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'carol' }],
      })
    );
    assert.equal(result.servers[edge], 'not-applicable');
    assert.equal(result.servers[member], 'onboarded');

    const status = (await env.client.workflow.getHandle(serverWorkflowId(edge)).result()) as ServerStatus;
    assert.equal(status.awaitingOperator, undefined);
    assert.ok(
      status.notes.some((n) =>
        /is an Edge Transport or workgroup server \(Kerberos cannot reach it.*\); not onboarded\. Configure it by hand/.test(
          n
        )
      ),
      status.notes.join('\n')
    );
    const preflight = status.steps.find((s) => s.step === 'preflight');
    assert.equal(preflight?.status, 'skipped');
    assert.match(preflight?.summary ?? '', /^not applicable: KerberosUnreachable: /);
    assert.ok(status.steps.filter((s) => s.step !== 'preflight').every((s) => s.status === 'skipped'));
    assert.equal(estate.counters(edge)['Get-OnboardingSnapshot']?.faults, 1, 'refused once, never retried');
  });
});
