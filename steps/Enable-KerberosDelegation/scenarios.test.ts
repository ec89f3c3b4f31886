/**
 * The directory scenarios of the lab (lab/scenarios.ts DIRECTORY_SCENARIOS) through the whole product on
 * the real dev server: a fleet whose long host names were joined with names of their own onboards; a
 * server whose computer name is held by another host's object, and a Monosync account that cannot be
 * delegated, each wait for an operator with the reason; two DCs with replication delay onboard, every
 * delegation call of the run on one DC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateFleet, type FleetSpec } from '../../domain/fleet';
import { serverWorkflowId } from '../../domain/ids';
import type { ServerStatus } from '../../domain/status';
import type { LabEstate } from '../../lab/estate';
import { LabRunner } from '../../lab/lab-runner';
import { DIRECTORY_SCENARIOS } from '../../lab/scenarios';
import type { ScriptCall } from '../../domain/scripts';
import type { PowerShellRunner } from '../../runner/port';
import { estateFor } from '../../test/support/fleet-files';
import { FAST_RETRY, startFleet, tag, testEnv, withWorkers, type TestEnv } from '../../test/support/temporal';
import { waitFor } from '../../test/support/wait';
import { decideKindUpdate, serverStatusQuery } from '../../workflows/messages';

/** Only delegation is risky (one approval per server, given as a standing decision). */
const DELEGATION_ONLY = {
  delegation: 'unconstrained',
  cbtHardeningLevel: 'Relaxed',
  trustedHosts: { applyOn: 'monosync', value: 'this-server' },
};

function spec(servers: unknown[]): FleetSpec {
  const result = validateFleet({
    fleet: `ad-${tag()}`,
    serviceAccount: 'CORP\\monosync_svc',
    domain: 'corp.example',
    monosyncServers: ['10.20.30.41'],
    approvers: ['alice', 'bob'],
    approvals: 'unsigned',
    policy: DELEGATION_ONLY,
    settings: { stepRetry: FAST_RETRY, maxFailurePercent: 100 },
    servers,
  });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.spec;
}

/** Records every delegation call the workers make. */
function recording(inner: PowerShellRunner, calls: ScriptCall[]): PowerShellRunner {
  return {
    run: (call) => {
      if (call.script === 'Enable-KerberosDelegation') calls.push(call);
      return inner.run(call);
    },
    close: () => inner.close(),
  };
}

void describe('Active Directory scenarios through the product', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  const serverStatus = (fqdn: string): Promise<ServerStatus | undefined> =>
    env.client.workflow
      .getHandle(serverWorkflowId(fqdn))
      .query(serverStatusQuery)
      .catch(() => undefined);

  /**
   * Starts the fleet as carol, approves delegation for every server as bob, waits until every server is in
   * `phase`, and returns their status (asked while the workers still run: they answer the queries).
   */
  async function run(
    fleet: FleetSpec,
    estate: LabEstate,
    phase: ServerStatus['phase'],
    runner?: PowerShellRunner
  ): Promise<ServerStatus[]> {
    return withWorkers(env, runner ?? new LabRunner(estate), async () => {
      const handle = await startFleet(env, fleet, 'carol');
      await handle.executeUpdate(decideKindUpdate, {
        args: [
          {
            kind: 'unconstrained-delegation',
            servers: 'all',
            decision: 'approve',
            approver: 'bob',
            reason: 'CAB-7 accepted the manual',
          },
        ],
      });
      let statuses: Array<ServerStatus | undefined> = [];
      await waitFor(async () => {
        statuses = await Promise.all(fleet.servers.map((s) => serverStatus(s.fqdn)));
        return statuses.every((s) => s?.phase === phase);
      }, `every server is ${phase}`);
      return statuses as ServerStatus[];
    });
  }

  void it('long host names joined with their own computer names: each onboards, delegation on its own object', async () => {
    const t = tag();
    const fleet = spec([
      { fqdn: `exchange-mailbox-${t}-01.corp.example`, computerName: `MBX${t}01` },
      { fqdn: `exchange-mailbox-${t}-02.corp.example`, computerName: `MBX${t}02` },
    ]);
    const estate = estateFor(fleet);
    for (const server of fleet.servers) estate.assign(server.fqdn, 'fresh', server.computerName);
    await run(fleet, estate, 'onboarded');
    for (const server of fleet.servers) {
      const computer = estate.computer(server.computerName);
      assert.equal(computer?.dnsHostName, server.fqdn);
      assert.equal(computer?.trustedForDelegation, true);
    }
  });

  void it('a stale object holds the server’s computer name: it waits for an operator, the object untouched', async () => {
    const fleet = spec([`x${tag()}01.corp.example`]);
    const estate = estateFor(fleet);
    DIRECTORY_SCENARIOS.computerNameTaken(estate, fleet.servers[0].fqdn, 'old-exchange.legacy.example');
    const [waiting] = await run(fleet, estate, 'awaiting-operator');
    assert.equal(waiting?.awaitingOperator?.step, 'enableKerberosDelegation');
    assert.equal(waiting?.awaitingOperator?.error.type, 'ADComputerMismatch');
    assert.match(
      waiting?.awaitingOperator?.error.message ?? '',
      /DNSHostName is old-exchange\.legacy\.example.*computerName:/
    );
    assert.equal(estate.computer(fleet.servers[0].computerName)?.trustedForDelegation, false);
  });

  for (const [label, arrange, reason] of [
    ['in Protected Users', DIRECTORY_SCENARIOS.serviceAccountProtected, /Protected Users/],
    [
      'marked sensitive',
      DIRECTORY_SCENARIOS.serviceAccountNotDelegated,
      /Account is sensitive and cannot be delegated/,
    ],
  ] as const) {
    void it(`Monosync’s account ${label}: the server waits for an operator with the reason, delegation not set`, async () => {
      const fleet = spec([`x${tag()}01.corp.example`]);
      const estate = estateFor(fleet);
      arrange(estate);
      const [waiting] = await run(fleet, estate, 'awaiting-operator');
      assert.equal(waiting?.awaitingOperator?.step, 'enableKerberosDelegation');
      assert.equal(waiting?.awaitingOperator?.error.type, 'DelegationBlocked');
      assert.match(waiting?.awaitingOperator?.error.message ?? '', reason);
      assert.equal(estate.computer(fleet.servers[0].computerName)?.trustedForDelegation, false);
    });
  }

  void it('two DCs with replication delay and no domainController in the fleet: onboards, every delegation call on one DC', async () => {
    const fleet = spec([`x${tag()}01.corp.example`]);
    const estate = estateFor(fleet);
    DIRECTORY_SCENARIOS.twoDomainControllers(estate);
    const calls: ScriptCall[] = [];
    await run(fleet, estate, 'onboarded', recording(new LabRunner(estate), calls));
    const computer = estate.computer(fleet.servers[0].computerName);
    assert.equal(computer?.trustedForDelegation, true);
    assert.ok(computer?.replication, 'the other DC has not replicated the change yet');
    assert.ok(calls.length >= 3, 'plan, apply and verify');
    // The first call asked the locator; every later one carried its answer.
    assert.equal(calls[0].params.DomainController, undefined);
    assert.deepEqual(
      new Set(calls.slice(1).map((c) => c.params.DomainController)),
      new Set([computer.replication.writtenOn])
    );
  });
});
