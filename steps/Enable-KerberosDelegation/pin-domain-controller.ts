/**
 * One domain controller for every delegation call of an AD worker. The step reads, changes and verifies
 * in separate script runs (plan, apply, then plan again over a fresh call), and a run without
 * `DomainController` asks the DC locator, which may answer with another DC each time: a verification on a
 * DC that has not replicated the change yet would fail a change that was made. So, when the fleet file
 * names no `domainController`, the DC the first run found (its `evidence.domainController`) is carried
 * into every later run of this worker as `-DomainController`, until that DC stops answering
 * (`ADServerDown`): then the next run asks the locator again.
 */
import { fqdnSchema } from '../../domain/validators';
import { ScriptFailure, type PowerShellRunner } from '../../runner/port';
import { step } from './step';

export function pinDomainController(runner: PowerShellRunner): PowerShellRunner {
  let pinned: string | null = null;
  return {
    async run(call) {
      const given = call.params.DomainController;
      if (call.script !== step.definition.script || call.target.host !== 'ad' || given !== undefined) {
        return runner.run(call);
      }
      const server = pinned;
      const sent =
        server === null
          ? call
          : {
              ...call,
              params: { ...call.params, DomainController: server },
              target: { host: 'ad' as const, domainController: server },
            };
      try {
        const envelope = await runner.run(sent);
        const found = fqdnSchema.safeParse(envelope.evidence.domainController);
        if (server === null && pinned === null && found.success) pinned = found.data;
        return envelope;
      } catch (err) {
        if (err instanceof ScriptFailure && err.kind.type === 'ADServerDown' && pinned === server) pinned = null;
        throw err;
      }
    },
    close: () => runner.close(),
  };
}
