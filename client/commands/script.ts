/**
 * `fleet script <step> [--out file]`: the standalone PowerShell script of one step (its own script with
 * the common helpers in place), exactly the text the runner sends, for a Windows admin to read or run
 * by hand. Needs no Temporal.
 */
import fs from 'node:fs';
import { SCRIPT_NAMES, STEP_IDS, stepDefinition, type ScriptName } from '../../domain/steps';
import { standaloneScript } from '../../powershell/script-text';
import { usageError } from '../cli-error';

/** The script of a step named by its id (`ensureHttpsListener`) or its script (`Set-HttpsListener`), any case. */
function scriptOfStep(name: string): ScriptName {
  const wanted = name.trim().toLowerCase();
  const byId = STEP_IDS.find((id) => id.toLowerCase() === wanted);
  if (byId) return stepDefinition(byId).script;
  const byScript = SCRIPT_NAMES.find((s) => s.toLowerCase() === wanted);
  if (byScript) return byScript;
  throw usageError(
    `unknown step ${JSON.stringify(name)}; valid names:\n` +
      STEP_IDS.map((id) => `  ${id.padEnd(26)} ${stepDefinition(id).script}`).join('\n')
  );
}

export function scriptCommand(step: string, opts: { out?: string }): number {
  const script = scriptOfStep(step);
  const text = standaloneScript(script);
  if (opts.out) {
    fs.writeFileSync(opts.out, text);
    console.log(`wrote ${opts.out} (${script}.ps1, standalone)`);
  } else process.stdout.write(text);
  return 0;
}
