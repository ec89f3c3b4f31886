/**
 * Fleet-level decisions on one kind of risky change (`decideKind` on the fleet workflow), end to end on
 * the real dev server and the lab: relayed to running servers, carried to servers started later,
 * limited to the listed servers, and refused by the update validator when a rule is broken.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { KindDecisionInput } from '../domain/approvals';
import type { FleetSpec } from '../domain/fleet';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import type { FleetStatus, ServerStatus } from '../domain/status';
import type { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { onboardFleet, onboardServer } from '../workflows';
import { decideChangeUpdate, decideKindUpdate, fleetStatusQuery, serverStatusQuery } from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { expectRefused, waitForFinal, waitForPending } from './support/server-status';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';

interface Run {
  spec: FleetSpec;
  estate: LabEstate;
  fleet: WorkflowHandle<typeof onboardFleet>;
  server: (fqdn: string) => WorkflowHandle<typeof onboardServer>;
}

const wildcardOf = (fqdn: string) => changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');

describe('fleet-level approval of one kind of risky change', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  /** Starts a fleet of `servers` requested by `requestedBy`, runs `fn` while it runs, returns the results. */
  async function withFleet(
    options: { servers: number; requestedBy: string; maxParallel?: number },
    fn: (run: Run) => Promise<void>
  ): Promise<{ run: Run; fleet: FleetStatus; results: Map<string, ServerStatus> }> {
    const spec = testFleet(options.servers, {
      policy: ONE_APPROVAL_POLICY,
      settings: { stepRetry: FAST_RETRY, maxParallel: options.maxParallel ?? 32 },
    });
    const estate = estateFor(spec);
    return withWorkers(env, new LabRunner(estate), async () => {
      const fleet = await startFleet(env, spec, options.requestedBy);
      const run: Run = {
        spec,
        estate,
        fleet,
        server: (fqdn) => env.client.workflow.getHandle<typeof onboardServer>(serverWorkflowId(fqdn)),
      };
      try {
        await fn(run);
      } catch (err) {
        await fleet.cancel().catch(() => undefined);
        throw err;
      }
      const result = await fleet.result();
      const results = new Map<string, ServerStatus>();
      for (const s of spec.servers) results.set(s.fqdn, await run.server(s.fqdn).result());
      return { run, fleet: result, results };
    });
  }

  it('one approval of a kind for all servers covers running servers and those started later', async () => {
    const { run, fleet, results } = await withFleet(
      { servers: 6, requestedBy: 'carol', maxParallel: 2 },
      async (run) => {
        const [first, second] = run.spec.servers.map((s) => s.fqdn);
        await waitForPending(run.server(first), wildcardOf(first));
        await waitForPending(run.server(second), wildcardOf(second));
        const before = await run.fleet.query(fleetStatusQuery);
        assert.equal(before.counts.started, 2, 'the other four start only after the decision');

        const standing = await run.fleet.executeUpdate(decideKindUpdate, {
          args: [
            { kind: 'trusted-hosts-wildcard', servers: 'all', decision: 'approve', approver: 'bob', reason: 'CAB-900' },
          ],
        });
        assert.equal(standing.approver, 'bob');
        assert.ok(!Number.isNaN(Date.parse(standing.at)));
      }
    );
    assert.equal(fleet.done, true);
    assert.equal(fleet.standingDecisions.length, 1);
    assert.deepEqual(fleet.counts.byPhase, { onboarded: 6 });
    for (const { fqdn } of run.spec.servers) {
      const result = results.get(fqdn) as ServerStatus;
      assert.equal(result.phase, 'onboarded', `${fqdn}: ${result.notes.join('; ')}`);
      assert.deepEqual(
        result.decisions.map((d) => [d.changeId, d.decision, d.approver, d.reason, d.via]),
        [[wildcardOf(fqdn), 'approve', 'bob', 'CAB-900', 'fleet']],
        fqdn
      );
      const step = result.steps.find((s) => s.step === 'setTrustedHosts');
      assert.equal(step?.status, 'changed', fqdn);
      assert.equal(step?.decision?.via, 'fleet', fqdn);
      assert.equal(run.estate.host(fqdn).trustedHosts.value, '*', fqdn);
    }
  });

  it('a decision for listed servers covers only those', async () => {
    const { run, fleet, results } = await withFleet({ servers: 3, requestedBy: 'carol' }, async (run) => {
      const fqdns = run.spec.servers.map((s) => s.fqdn);
      for (const fqdn of fqdns) await waitForPending(run.server(fqdn), wildcardOf(fqdn));
      await run.fleet.executeUpdate(decideKindUpdate, {
        args: [
          {
            kind: 'trusted-hosts-wildcard',
            servers: [fqdns[0], fqdns[1]],
            decision: 'approve',
            approver: 'alice',
            reason: 'CAB-901',
          },
        ],
      });
      for (const fqdn of fqdns.slice(0, 2)) await waitForFinal(run.server(fqdn));
      // The third server is still waiting, undecided, and unchanged.
      const third = await run.server(fqdns[2]).query(serverStatusQuery);
      assert.equal(third.phase, 'awaiting-approval');
      assert.deepEqual(third.decisions, []);
      assert.deepEqual(
        third.pendingApprovals.map((p) => p.change.id),
        [wildcardOf(fqdns[2])]
      );
      assert.equal(run.estate.host(fqdns[2]).trustedHosts.value, '');
      // A decision on another kind does not touch it either.
      await run.fleet.executeUpdate(decideKindUpdate, {
        args: [{ kind: 'cbt-none', servers: 'all', decision: 'approve', approver: 'alice', reason: 'CAB-902' }],
      });
      assert.equal((await run.server(fqdns[2]).query(serverStatusQuery)).decisions.length, 0);
      await run.server(fqdns[2]).executeUpdate(decideChangeUpdate, {
        args: [{ changeId: wildcardOf(fqdns[2]), decision: 'reject', approver: 'bob', reason: 'not this one' }],
      });
    });
    const [a, b, c] = run.spec.servers.map((s) => results.get(s.fqdn) as ServerStatus);
    for (const r of [a, b]) {
      assert.equal(r.phase, 'onboarded', r.fqdn);
      assert.deepEqual(
        r.decisions.map((d) => [d.approver, d.via]),
        [['alice', 'fleet']]
      );
      assert.equal(run.estate.host(r.fqdn).trustedHosts.value, '*');
    }
    assert.equal(c.phase, 'needs-attention');
    assert.deepEqual(
      c.decisions.map((d) => [d.decision, d.approver, d.via]),
      [['reject', 'bob', 'update']]
    );
    assert.equal(run.estate.host(c.fqdn).trustedHosts.value, '');
    assert.equal(fleet.servers[c.fqdn], 'needs-attention');
  });

  // The validator normalises names; the handler must record and relay that normalised form.
  it('a decision naming a server in another spelling (upper case) covers it', async () => {
    const { results } = await withFleet({ servers: 1, requestedBy: 'carol' }, async (run) => {
      const fqdn = run.spec.servers[0].fqdn;
      await waitForPending(run.server(fqdn), wildcardOf(fqdn));
      const standing = await run.fleet.executeUpdate(decideKindUpdate, {
        args: [
          {
            kind: 'trusted-hosts-wildcard',
            servers: [fqdn.toUpperCase()],
            decision: 'approve',
            approver: ' Bob ',
            reason: 'CAB-904',
          },
        ],
      });
      assert.equal(standing.approver, 'bob');
      assert.deepEqual(standing.servers, [fqdn]);
      await waitForFinal(run.server(fqdn), 15_000);
    });
    const [result] = results.values();
    assert.deepEqual(
      result.decisions.map((d) => [d.approver, d.via]),
      [['bob', 'fleet']]
    );
  });

  it('the update validator refuses the requester, people not on the list, unknown servers and malformed input', async () => {
    const { results } = await withFleet({ servers: 1, requestedBy: 'alice' }, async (run) => {
      const fqdn = run.spec.servers[0].fqdn;
      await waitForPending(run.server(fqdn), wildcardOf(fqdn));
      const decideKind = (input: Record<string, unknown>) =>
        run.fleet.executeUpdate(decideKindUpdate, { args: [input as unknown as KindDecisionInput] });
      const valid = {
        kind: 'trusted-hosts-wildcard',
        servers: 'all',
        decision: 'approve',
        approver: 'bob',
        reason: 'CAB-903',
      };

      await expectRefused(
        decideKind({ ...valid, approver: 'alice' }),
        'DecisionRefused',
        /alice started this run.*four eyes/
      );
      await expectRefused(
        decideKind({ ...valid, approver: 'mallory' }),
        'DecisionRefused',
        /mallory is not an approver/
      );
      await expectRefused(
        decideKind({ ...valid, servers: [fqdn, 'nope.corp.example'] }),
        'DecisionRefused',
        /not in this fleet: nope\.corp\.example/
      );
      await expectRefused(decideKind({ ...valid, servers: [] }), 'InvalidDecision', /servers/);
      await expectRefused(decideKind({ ...valid, kind: 'everything' }), 'InvalidDecision', /kind/);
      const { reason: _omitted, ...noReason } = valid;
      await expectRefused(decideKind(noReason), 'InvalidDecision', /reason/);

      const fleetStatus = await run.fleet.query(fleetStatusQuery);
      assert.deepEqual(fleetStatus.standingDecisions, [], 'nothing refused is kept as a standing decision');
      const server = await run.server(fqdn).query(serverStatusQuery);
      assert.equal(server.phase, 'awaiting-approval');
      assert.deepEqual(server.decisions, []);
      assert.equal(run.estate.host(fqdn).trustedHosts.value, '');

      await decideKind({ ...valid, servers: [fqdn] });
    });
    const [result] = results.values();
    assert.deepEqual(
      result.decisions.map((d) => [d.approver, d.via]),
      [['bob', 'fleet']]
    );
  });
});
