/** The AD worker's budget of calls at the domain controllers (runner/call-budget.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRunner } from '../lab/lab-runner';
import { limitConcurrentCalls } from '../runner/call-budget';
import type { PowerShellRunner } from '../runner/port';
import { adStepSlots } from '../workers/create-workers';
import { callFor, estateFor, fleet } from './lab-fixtures';

const servers = Array.from({ length: 12 }, (_, i) => `exch${String(i + 1).padStart(2, '0')}.corp.example`);

void describe('call budget', () => {
  void it('lets at most its budget of calls reach the domain controllers, however many steps ask', async () => {
    const spec = fleet(servers);
    const lab = new LabRunner(estateFor(spec), { latencyMs: 10 });
    const limited = limitConcurrentCalls(lab, 3);
    await Promise.all(spec.servers.map((_, i) => limited.run(callFor(spec, 'enableKerberosDelegation', 'plan', i))));
    assert.equal(lab.stats.maxAdInFlight, 3);
    assert.equal(lab.stats.calls, 12);
    assert.equal(lab.stats.adInFlight, 0);
  });

  void it('hands a freed permit to the longest waiting call, and frees it when a call fails', async () => {
    const started: number[] = [];
    const finish = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
    const inner: PowerShellRunner = {
      run: (call) => {
        const n = Number(call.params.n);
        started.push(n);
        return new Promise((resolve, reject) => {
          finish.set(n, { resolve: () => resolve({} as never), reject });
        });
      },
      close: async () => undefined,
    };
    const limited = limitConcurrentCalls(inner, 1);
    const call = (n: number) => limited.run({ ...callFor(fleet(servers), 'preflight', 'plan'), params: { n } });
    const first = call(1);
    const second = call(2).catch(() => 'failed');
    const third = call(3);
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    assert.deepEqual(started, [1]);
    finish.get(1)?.resolve();
    await first;
    await settle();
    assert.deepEqual(started, [1, 2], 'the first waiter runs next');
    finish.get(2)?.reject(new Error('WinRM timed out'));
    assert.equal(await second, 'failed');
    await settle();
    assert.deepEqual(started, [1, 2, 3], 'a failed call frees its permit');
    finish.get(3)?.resolve();
    await third;
  });

  void it('counts per key when given one, and lets a call with no key through', async () => {
    const spec = fleet(servers.slice(0, 3));
    const lab = new LabRunner(estateFor(spec), { latencyMs: 10 });
    let most = 0;
    let open = 0;
    const counting: PowerShellRunner = {
      run: async (call) => {
        most = Math.max(most, ++open);
        try {
          return await lab.run(call);
        } finally {
          open -= 1;
        }
      },
      close: async () => undefined,
    };
    // Two per server, the snapshot calls unlimited: 3 servers x 4 calls, at most 2 + 2 + 2 + the 3 unlimited.
    const limited = limitConcurrentCalls(counting, 2, (call) =>
      call.script === 'Get-OnboardingSnapshot' ? null : call.target.host === 'exchange' ? call.target.fqdn : 'other'
    );
    await Promise.all(
      spec.servers.flatMap((_, i) => [
        limited.run(callFor(spec, 'preflight', 'plan', i)),
        ...Array.from({ length: 4 }, () => limited.run(callFor(spec, 'enableRemoting', 'plan', i))),
      ])
    );
    assert.equal(most, 9);
    assert.equal(lab.stats.calls, 15);
  });

  void it('refuses a budget that is not a whole number of at least 1', () => {
    const lab = new LabRunner(estateFor(fleet(servers)));
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => limitConcurrentCalls(lab, bad), RangeError);
  });

  void it('gives the AD worker twice as many steps as calls', () => {
    assert.equal(adStepSlots(8), 16);
    assert.equal(adStepSlots(1), 2);
    assert.equal(adStepSlots(64), 128);
  });
});
