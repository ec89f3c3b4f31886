/**
 * The calls the product would make to one real server, for test/powershell/RealServer.Tests.ps1: every step
 * of the catalogue (domain/steps.ts), in order, with the parameters its activity would send for that server
 * of a fleet file (domain/onboarding.ts scriptCallFor, the same code the activities use) and the standalone
 * script text the runner sends (powershell/script-text.ts). Needs Node and the project's node_modules, not
 * pwsh.
 *
 *   node --import tsx test/powershell/real-server-calls.ts <fleet.yaml> <fqdn> <out.json>
 *
 * Exits 2 with one line naming the fix when the fleet file is invalid or does not list the server.
 */
import fs from 'node:fs';
import { FleetFileError, readFleetFile } from '../../client/fleet-file';
import type { FleetSpec } from '../../domain/fleet';
import { contextOf, scriptCallFor, stepApplies } from '../../domain/onboarding';
import type { JsonValue, ScriptTarget } from '../../domain/scripts';
import { STEP_IDS, STEP_MODULES, type ScriptName, type StepId } from '../../domain/steps';
import { standaloneScript } from '../../powershell/script-text';

export interface RealServerStep {
  step: StepId;
  script: ScriptName;
  /**
   * Where the product runs it for this fleet's policy: `exchange` (this server), `ad` (the AD management
   * host), `worker` (a Monosync worker).
   */
  runsOn: ScriptTarget['host'];
  readOnly: boolean;
  /** false when the fleet's policy skips the step (e.g. `delegation: skip`). */
  applies: boolean;
  params: Record<string, JsonValue>;
}

export interface RealServerCalls {
  fleet: string;
  fqdn: string;
  steps: RealServerStep[];
  scripts: Record<string, string>;
}

export function realServerCalls(spec: FleetSpec, fqdn: string, fleetFile: string): RealServerCalls {
  const server = spec.servers.find((s) => s.fqdn.toLowerCase() === fqdn.toLowerCase());
  if (!server) {
    throw new FleetFileError(fleetFile, [
      `servers: does not list ${fqdn} (this machine): add it, or set MONOSYNC_REAL_SERVER_FQDN`,
    ]);
  }
  const context = contextOf(spec);
  const steps = STEP_IDS.map((step): RealServerStep => {
    const { definition } = STEP_MODULES[step];
    const call = scriptCallFor(step, 'plan', server, context);
    return {
      step,
      script: definition.script,
      runsOn: call.target.host,
      readOnly: definition.readOnly,
      applies: stepApplies(step, context),
      params: call.params,
    };
  });
  const scripts = Object.fromEntries(steps.map((s) => [s.script, standaloneScript(s.script)]));
  return { fleet: spec.fleetId, fqdn: server.fqdn, steps, scripts };
}

function main(argv: string[]): void {
  if (argv.length !== 3) throw new Error('usage: real-server-calls.ts <fleet.yaml> <fqdn> <out.json>');
  const [fleetFile, fqdn, out] = argv;
  try {
    fs.writeFileSync(out, JSON.stringify(realServerCalls(readFleetFile(fleetFile), fqdn, fleetFile)));
  } catch (err) {
    if (!(err instanceof FleetFileError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}

if (require.main === module) main(process.argv.slice(2));
