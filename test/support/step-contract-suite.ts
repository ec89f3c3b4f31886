/**
 * The node:test suite every step's contract.test.ts declares: one pwsh run for all cases of the step
 * (test/support/script-contract.ts), then one test per case that fails with the readable difference.
 * Without pwsh (and not under CI) every case is skipped with one loud line.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  contractPowerShell,
  formatCase,
  runStepContract,
  type ContractRun,
  type StepContract,
} from './script-contract';

/** `more` declares further tests of the suite; `run()` is the contract's run (null when skipped). */
export function describeStepContract(
  script: string,
  contract: StepContract,
  more?: (run: () => ContractRun | null, unavailable: () => string) => void
): void {
  void describe(`${script}: script and lab model agree`, () => {
    let run: ContractRun | null = null;
    let unavailable = '';

    before(async () => {
      const pwsh = await contractPowerShell();
      if (pwsh === null) {
        unavailable = 'pwsh 7.6.9 is not installed here (needs the .NET SDK); run npm run test:ps once to install it';
        console.log(`\n!!! ${script} contract NOT CHECKED: ${unavailable}\n`);
        return;
      }
      run = await runStepContract(contract, pwsh);
      console.log(
        `${script} contract: ${run.cases.length} cases, ${run.scriptRuns} script runs in ${run.pwshRuns} pwsh process (${run.seconds.toFixed(1)} s)`
      );
    });

    for (const [index, c] of contract.cases.entries()) {
      void it(c.name, (t) => {
        if (run === null) return t.skip(unavailable);
        const outcome = run.cases[index];
        assert.deepEqual(outcome.differences, [], formatCase(outcome));
      });
    }

    more?.(
      () => run,
      () => unavailable
    );
  });
}
