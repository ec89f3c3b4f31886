/**
 * The standalone text of a step's PowerShell script: `steps/<Script>/<Script>.ps1` with the shared helpers
 * of `powershell/MonosyncCommon.ps1` put in place of its marker line. It is exactly what the runner sends
 * (as one script block) and what `fleet script <step>` writes for a Windows admin to run by hand: the
 * server never needs a second file.
 *
 * The marker stands after the script's `param()` block, because `param()` must come first in a script.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isScriptName, type ScriptName } from '../domain/steps';

/** The line of a step script where the common helpers go; exactly one per step script. */
export const COMMON_MARKER =
  '#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)';

/** Where the step folders are (`steps/<Script>/`), each with its `<Script>.ps1`. */
export const STEPS_DIR = path.join(__dirname, '..', 'steps');
/** The helpers every step script shares, kept once. */
export const COMMON_FILE = path.join(__dirname, 'MonosyncCommon.ps1');

/** The step script as kept in the repository, with its marker line (not runnable by itself). */
export function stepScriptPath(script: ScriptName): string {
  if (!isScriptName(script)) throw new Error(`unknown script ${String(script)}`);
  return path.join(STEPS_DIR, script, `${script}.ps1`);
}

/** Puts `common` in place of the one marker line of `stepSource`; `name` is for the error. */
export function insertCommon(stepSource: string, common: string, name: string): string {
  const lines = stepSource.split('\n');
  const at = lines.flatMap((line, i) => (line.replace(/\r$/, '') === COMMON_MARKER ? [i] : []));
  if (at.length !== 1) throw new Error(`${name}: expected one line ${COMMON_MARKER}, found ${at.length}`);
  const helpers = common.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
  return [...lines.slice(0, at[0]), helpers, ...lines.slice(at[0] + 1)].join('\n');
}

const cache = new Map<ScriptName, string>();

/** The self-contained script text of one step (the files are read once per process). */
export function standaloneScript(script: ScriptName): string {
  let text = cache.get(script);
  if (text === undefined) {
    const source = fs.readFileSync(stepScriptPath(script), 'utf8');
    text = insertCommon(source, fs.readFileSync(COMMON_FILE, 'utf8'), `${script}.ps1`);
    cache.set(script, text);
  }
  return text;
}
