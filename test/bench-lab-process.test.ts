/**
 * The bench's lab in a process of its own (bench/lab-process.ts, forked by the bench's worker process)
 * answers as the lab inside a worker does: the same envelope for a call, a ScriptFailure that keeps its
 * kind across the process boundary, and its counts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LabProcess } from '../bench/lab-client';
import type { ScriptCall } from '../domain/scripts';
import { LabRunner } from '../lab/lab-runner';
import { largeFleetEstate } from '../lab/scenarios';
import { ScriptFailure } from '../runner/port';
import { testFleet } from './support/temporal';

const spec = testFleet(2);
const [first, second] = spec.servers.map((s) => s.fqdn);

const snapshotCall = (fqdn: string): ScriptCall => ({
  script: 'Get-OnboardingSnapshot',
  mode: 'plan',
  params: { Fqdn: fqdn, ServiceAccount: spec.serviceAccount },
  target: { host: 'exchange', fqdn },
});

describe('the bench lab process', () => {
  let lab: LabProcess;
  before(async () => {
    lab = await LabProcess.start(spec, 0);
  });
  after(async () => lab.close());

  it('answers a call with the envelope the lab inside a worker gives, and counts it', async () => {
    const inWorker = new LabRunner(largeFleetEstate(spec));
    assert.deepEqual(await lab.run(snapshotCall(first)), await inWorker.run(snapshotCall(first)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(lab.stats.calls, 1);
  });

  it('fails a call with the ScriptFailure the lab raised, its kind kept', async () => {
    lab.injectFaults(1);
    await assert.rejects(lab.run(snapshotCall(second)), (err: unknown) => {
      assert.ok(err instanceof ScriptFailure, String(err));
      assert.equal(err.kind.type, 'WinRMTimeout');
      assert.equal(err.detail.script, 'Get-OnboardingSnapshot');
      return true;
    });
  });
});
