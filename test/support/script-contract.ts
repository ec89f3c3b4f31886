/**
 * The lab as a checked model of the step scripts: for a table of starting states, each step's real script
 * runs (in real pwsh, through the seam of powershell/MonosyncCommon.ps1 bound to the lab's JSON model of the
 * machine by test/powershell/LabSeam.psm1) and the step's lab handler runs (`LabEstate.execute`) on the same
 * state, call by call; the envelopes and the machine's state afterwards must be equal. A difference fails
 * with a readable diff. One pwsh process runs every case of a test file (starting pwsh costs about a
 * second).
 *
 * Also a small CLI for the Pester kit (test/powershell/SeamTestKit.psm1), so PowerShell tests use the same
 * TypeScript sources of truth instead of copies:
 *   node --import tsx test/support/script-contract.ts assemble <out.json>
 *     the standalone script of every step, the hostile values of test/powershell-injection.test.ts, the
 *     failure table of domain/failures.ts and a lab host of every profile;
 *   node --import tsx test/support/script-contract.ts check-envelopes <in.json> <out.json>
 *     checks envelopes against domain/envelope.ts envelopeSchema and the step's state schema.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../devserver/temporal-cli';
import { envelopeSchema, type ScriptMode, type StepEnvelope } from '../../domain/envelope';
import { classifyCode, FAILURE_KINDS } from '../../domain/failures';
import type { JsonValue, ScriptCall } from '../../domain/scripts';
import { SCRIPT_NAMES, STEP_IDS, STEP_MODULES, type ScriptName, type StepId } from '../../domain/steps';
import type { FleetSpec } from '../../domain/fleet';
import { formatIssues } from '../../domain/issues';
import { LabEstate } from '../../lab/estate';
import { PROFILE_NAMES, type ProfileName } from '../../lab/profiles';
import { standaloneScript } from '../../powershell/script-text';
import { validateCall } from '../../runner/contract';
import { ensurePowerShellTools, quietToolEnv } from '../../scripts/powershell-tools';
import { callFor, estateFor, fleet } from '../lab-fixtures';

/** The Exchange server every contract case is about. */
export const CONTRACT_FQDN = 'exch01.corp.example';
/** The Monosync worker as a machine (the lab's `LabWorker` has no name of its own). */
export const WORKER_MACHINE = { computerName: 'MONOSYNC01', fqdn: 'monosync01.corp.example' };
/** The AD management host an `ad` call runs on (the lab models it only as the directory it reaches). */
export const AD_MACHINE = { computerName: 'ADMIN01', fqdn: 'admin01.corp.example' };

const DRIVER = path.join(PROJECT_ROOT, 'test', 'powershell', 'Invoke-ContractCase.ps1');

/** One call of a case: its mode, and what differs from the call `scriptCallFor` builds. */
export interface ContractCall {
  label: string;
  mode: ScriptMode;
  /** `first-plan-before`: the state the case's first call (a plan) reported, as the activity saves it. */
  rollbackTo?: { value: JsonValue } | 'first-plan-before';
  /** Replaces the call's parameters (to check that both refuse the same bad values). */
  params?: Record<string, JsonValue>;
}

/** plan → apply → verify → rollback to what the plan found → verify: the activity's path and its undo. */
export const PLAN_APPLY_ROLLBACK: readonly ContractCall[] = [
  { label: 'plan', mode: 'plan' },
  { label: 'apply', mode: 'apply' },
  { label: 'verify (plan after apply)', mode: 'plan' },
  { label: 'rollback to the saved before', mode: 'rollback', rollbackTo: 'first-plan-before' },
  { label: 'verify (plan after rollback)', mode: 'plan' },
];

export interface ContractCase {
  /** The starting state, as the table names it: compliant, absent, partial, set by Group Policy, conflicting. */
  name: string;
  /** The fleet policy the step is asked to reach (fleet file `policy:`). */
  policy?: Record<string, unknown>;
  /** The lab profile the host starts from (default `fresh`). */
  profile?: ProfileName;
  /** Puts the machine into the starting state: mutate `estate.host(fqdn)` (or `estate.worker`). */
  arrange?(estate: LabEstate, fqdn: string): void;
  /** Default PLAN_APPLY_ROLLBACK. */
  calls?: readonly ContractCall[];
}

export interface StepContract {
  step: StepId;
  cases: readonly ContractCase[];
  /**
   * The machine the script's seam sees for a call, when the default (the Exchange host, the worker, or
   * the AD host's directory) is not enough: e.g. the worker together with its view of the network.
   * `now` is the lab clock at the start of the case.
   */
  machine?(estate: LabEstate, call: ScriptCall, at: { spec: FleetSpec; now: string }): unknown;
}

/** What one call produced on both sides. */
export interface CallOutcome {
  label: string;
  call: ScriptCall;
  lab: StepEnvelope;
  labMachine: unknown;
  /** Every line the script wrote to its output stream. */
  scriptOutput: string[];
  scriptMachine: unknown;
  /** A failure of the driver around this call (not an envelope), e.g. a script that threw. */
  driverError?: string;
}

export interface CaseOutcome {
  name: string;
  calls: CallOutcome[];
  /** Empty when the script and the lab agree on every call. */
  differences: string[];
}

export interface ContractRun {
  cases: CaseOutcome[];
  /** pwsh processes started (one per run) and script invocations made in them. */
  pwshRuns: number;
  scriptRuns: number;
  seconds: number;
}

interface DriverCall {
  mode: ScriptMode;
  params: Record<string, JsonValue>;
  rollbackTo: JsonValue;
}

interface DriverCase {
  id: string;
  script: ScriptName;
  machine: unknown;
  calls: DriverCall[];
}

interface DriverResult {
  id: string;
  results: Array<{ output: string[]; machine: unknown; error?: string }>;
}

/** pwsh from the machine cache, or null when it cannot be had here (never null under CI=true: that throws). */
export async function contractPowerShell(): Promise<string | null> {
  const tools = await ensurePowerShellTools({ required: process.env.CI === 'true' });
  return tools?.pwsh ?? null;
}

/** The machine a call acts on, as the lab holds it: the Exchange host, the worker, or the AD host's directory. */
function machineOf(estate: LabEstate, call: ScriptCall): unknown {
  if (call.target.host === 'worker') return structuredClone({ ...WORKER_MACHINE, ...estate.worker });
  if (call.target.host === 'ad') {
    // The directory as the AD host reaches it: the DC the locator finds and every computer object.
    const { settings, ad } = estate.toJSON();
    return { ...AD_MACHINE, domain: settings.domain, domainController: settings.domainController, ad };
  }
  const fqdn = call.target.host === 'exchange' ? call.target.fqdn : CONTRACT_FQDN;
  estate.host(fqdn);
  return estate.toJSON().hosts[fqdn];
}

/**
 * Both runners validate (and normalise: trimmed, lower-case TrustedHosts entries) a call before anything
 * runs, so a script only ever sees validated parameters: both sides get those. A call that fails that
 * validation is sent as it is, to check that the script and the lab each refuse it themselves.
 */
function asTheRunnersSendIt(call: ScriptCall): ScriptCall {
  try {
    return validateCall(call);
  } catch {
    return call;
  }
}

function runLab(estate: LabEstate, call: ScriptCall): StepEnvelope {
  const outcome = estate.execute(call);
  if (outcome.kind !== 'envelope') throw new Error(`the lab hung on ${call.script} ${call.mode}`);
  return outcome.envelope;
}

/** Runs every case on the lab, then the script on the same starting states in one pwsh process. */
export async function runStepContract(contract: StepContract, pwsh: string): Promise<ContractRun> {
  const script = STEP_MODULES[contract.step].definition.script as ScriptName;
  const prepared = contract.cases.map((c, index) => {
    const spec = fleet([CONTRACT_FQDN], c.policy ?? {});
    const estate = estateFor(spec, { [CONTRACT_FQDN]: c.profile ?? 'fresh' });
    estate.host(CONTRACT_FQDN);
    c.arrange?.(estate, CONTRACT_FQDN);
    const now = estate.now().toISOString();
    const view = (call: ScriptCall): unknown =>
      contract.machine ? contract.machine(estate, call, { spec, now }) : machineOf(estate, call);
    const machine = view(callFor(spec, contract.step, 'plan'));
    const calls: CallOutcome[] = [];
    for (const planned of c.calls ?? PLAN_APPLY_ROLLBACK) {
      const base = callFor(spec, contract.step, planned.mode);
      let rollbackTo: JsonValue | undefined;
      if (planned.rollbackTo === 'first-plan-before') rollbackTo = (calls[0]?.lab.before ?? null) as JsonValue;
      else if (planned.rollbackTo !== undefined) rollbackTo = planned.rollbackTo.value;
      const call = asTheRunnersSendIt({
        ...base,
        ...(planned.params ? { params: planned.params } : {}),
        ...(rollbackTo !== undefined ? { rollbackTo } : {}),
      });
      const lab = runLab(estate, call);
      calls.push({
        label: planned.label,
        call,
        lab,
        labMachine: view(call),
        scriptOutput: [],
        scriptMachine: null,
      });
    }
    const driverCase: DriverCase = {
      id: String(index),
      script,
      machine,
      calls: calls.map(({ call }) => ({ mode: call.mode, params: call.params, rollbackTo: call.rollbackTo ?? null })),
    };
    return { name: c.name, calls, driverCase };
  });

  const started = Date.now();
  const results = await runDriver(
    pwsh,
    { [script]: standaloneScript(script) },
    prepared.map((p) => p.driverCase)
  );
  const seconds = (Date.now() - started) / 1000;

  const cases = prepared.map((p) => {
    const result = results.find((r) => r.id === p.driverCase.id);
    p.calls.forEach((call, i) => {
      const r = result?.results[i];
      call.scriptOutput = r?.output ?? [];
      call.scriptMachine = r?.machine ?? null;
      if (r?.error) call.driverError = r.error;
      if (!r) call.driverError = 'the pwsh driver returned no result for this call';
    });
    return { name: p.name, calls: p.calls, differences: p.calls.flatMap((c) => compareCall(contract.step, c)) };
  });
  return {
    cases,
    pwshRuns: 1,
    scriptRuns: prepared.reduce((n, p) => n + p.calls.length, 0),
    seconds,
  };
}

async function runDriver(
  pwsh: string,
  scripts: Partial<Record<ScriptName, string>>,
  cases: DriverCase[]
): Promise<DriverResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'script-contract-'));
  const input = path.join(dir, 'cases.json');
  const output = path.join(dir, 'results.json');
  try {
    fs.writeFileSync(input, JSON.stringify({ scripts, cases }));
    const args = ['-NoProfile', '-NonInteractive', '-File', DRIVER, '-InputFile', input, '-OutputFile', output];
    const { code, text } = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn(pwsh, args, { cwd: PROJECT_ROOT, env: quietToolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let all = '';
      child.stdout.on('data', (d: Buffer) => (all += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (all += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ code: status, text: all }));
    });
    if (code !== 0 || !fs.existsSync(output)) {
      throw new Error(`the pwsh contract driver failed (exit ${code}):\n${text}`);
    }
    return JSON.parse(fs.readFileSync(output, 'utf8').replace(/^\uFEFF/, '')) as DriverResult[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));

/** Where two JSON values differ, as `path: a ≠ b` lines. */
export function jsonDifferences(a: unknown, b: unknown, at = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const bothObjects =
    typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return [`${at || '(root)'}: lab ${show(a)}, script ${show(b)}`];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) =>
    jsonDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k)
  );
}

/**
 * The comparison of one call. Compared: schema, script, mode, ok, compliant, changed, target (Exchange
 * targets; a worker-side script reports the worker's own name where the lab writes `worker(for ...)`),
 * error.code, error.class and the failure type classifyCode() makes of them; before, after and evidence
 * when both succeeded; and the machine's whole state after the call. Not compared: warnings (advisory
 * text the lab does not model), error.message/fqid/exceptionType (Windows' and the lab's wording differ),
 * and before/after of a failed call (the scripts print null there, the lab the state it read; the
 * runner rejects a failed envelope before anything reads them: runner/contract.ts parseEnvelope).
 * The script's envelope must also pass envelopeSchema and, when ok, the step's state schema.
 */
export function compareCall(step: StepId, outcome: CallOutcome): string[] {
  const where = `${outcome.label} (${outcome.call.mode})`;
  if (outcome.driverError) return [`${where}: ${outcome.driverError}`];
  const lines = outcome.scriptOutput;
  if (lines.length !== 1) {
    return [`${where}: the script printed ${lines.length} output objects, not one envelope: ${show(lines)}`];
  }
  let document: unknown;
  try {
    document = JSON.parse(lines[0]);
  } catch {
    return [`${where}: the script printed no JSON: ${show(lines[0])}`];
  }
  const parsed = envelopeSchema.safeParse(document);
  if (!parsed.success) {
    return [`${where}: the script's envelope breaks envelopeSchema: ${formatIssues(parsed.error.issues).join('; ')}`];
  }
  const script = parsed.data;
  const lab = outcome.lab;
  const found: string[] = [];
  const field = (name: string, a: unknown, b: unknown) => {
    if (!isDeepStrictEqual(a, b)) found.push(`${name}: lab ${show(a)}, script ${show(b)}`);
  };
  for (const name of ['schema', 'script', 'mode', 'ok', 'compliant', 'changed'] as const)
    field(name, lab[name], script[name]);
  if (outcome.call.target.host === 'exchange') field('target', lab.target, script.target);
  field('error.code', lab.error?.code, script.error?.code);
  field('error.class', lab.error?.class, script.error?.class);
  const type = (e: StepEnvelope['error']) => (e ? classifyCode(e.code, e.class).type : undefined);
  field('failure type', type(lab.error), type(script.error));
  if (lab.ok && script.ok) {
    for (const name of ['before', 'after', 'evidence'] as const) {
      found.push(...jsonDifferences(lab[name], script[name], name));
    }
    const state = STEP_MODULES[step].state;
    for (const name of ['before', 'after'] as const) {
      const checked = state.safeParse(script[name]);
      if (!checked.success)
        found.push(`${name} breaks the ${step} state schema: ${formatIssues(checked.error.issues).join('; ')}`);
    }
  }
  found.push(...jsonDifferences(outcome.labMachine, outcome.scriptMachine, 'machine'));
  if (found.length === 0) return [];
  return [
    `${where}:`,
    ...found.map((f) => `  ${f}`),
    `  lab envelope:    ${JSON.stringify(lab)}`,
    `  script envelope: ${lines[0]}`,
  ];
}

/** A case's report: its calls and, when they differ, the diff. */
export function formatCase(outcome: CaseOutcome): string {
  return [`contract case "${outcome.name}": the script and the lab differ`, ...outcome.differences].join('\n');
}

// --- the CLI for the Pester kit ---------------------------------------------------------------------

/** The HOSTILE list of test/powershell-injection.test.ts, read with the TypeScript parser (one source). */
export function hostileValues(): string[] {
  const file = path.join(PROJECT_ROOT, 'test', 'powershell-injection.test.ts');
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  let values: string[] | null = null;
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'HOSTILE' &&
      node.initializer &&
      ts.isArrayLiteralExpression(node.initializer)
    ) {
      values = node.initializer.elements.map((e) => {
        if (!ts.isStringLiteralLike(e)) throw new Error('HOSTILE holds a value that is not a string literal');
        return e.text;
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (values === null) throw new Error(`no HOSTILE array in ${file}`);
  return values;
}

function failureTypes() {
  const byCode: Record<string, string> = {};
  for (const kind of FAILURE_KINDS) for (const code of kind.codes) byCode[code.toLowerCase()] = kind.type;
  const unknown = '\u0000not-a-code';
  const byClass: Record<string, string> = { other: classifyCode(unknown).type };
  for (const advisory of ['transient', 'permanent', 'policy', 'precondition', 'auth']) {
    byClass[advisory] = classifyCode(unknown, advisory).type;
  }
  return { byCode, byClass };
}

function labHosts(): Record<string, string> {
  return Object.fromEntries(
    PROFILE_NAMES.map((profile) => {
      const estate = LabEstate.create({ seed: 7 });
      estate.assign(CONTRACT_FQDN, profile);
      estate.host(CONTRACT_FQDN);
      return [profile, JSON.stringify(estate.toJSON().hosts[CONTRACT_FQDN])];
    })
  );
}

interface KeptEnvelope {
  script: string;
  line: string;
  test: string;
}

/** Every problem of the envelopes a Pester file kept: envelopeSchema, and the step's state schema when ok. */
export function checkEnvelopes(kept: KeptEnvelope[]): Array<KeptEnvelope & { problem: string }> {
  const problems: Array<KeptEnvelope & { problem: string }> = [];
  for (const item of kept) {
    const step = STEP_IDS.find((id) => STEP_MODULES[id].definition.script === item.script);
    let document: unknown;
    try {
      document = JSON.parse(item.line);
    } catch {
      problems.push({ ...item, problem: 'not JSON' });
      continue;
    }
    const parsed = envelopeSchema.safeParse(document);
    if (!parsed.success) {
      problems.push({ ...item, problem: `envelopeSchema: ${formatIssues(parsed.error.issues).join('; ')}` });
      continue;
    }
    if (!step) {
      problems.push({ ...item, problem: `no step runs ${item.script}` });
      continue;
    }
    if (parsed.data.script !== item.script) problems.push({ ...item, problem: `script is ${parsed.data.script}` });
    if (!parsed.data.ok) {
      if (!parsed.data.error) problems.push({ ...item, problem: 'a failed envelope without error' });
      continue;
    }
    for (const name of ['before', 'after'] as const) {
      const checked = STEP_MODULES[step].state.safeParse(parsed.data[name]);
      if (!checked.success) {
        problems.push({
          ...item,
          problem: `${name}: ${step} state schema: ${formatIssues(checked.error.issues).join('; ')}`,
        });
      }
    }
  }
  return problems;
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === 'assemble' && rest.length === 1) {
    const scripts = Object.fromEntries(SCRIPT_NAMES.map((s) => [s, standaloneScript(s)]));
    fs.writeFileSync(
      rest[0],
      JSON.stringify({ scripts, hostile: hostileValues(), failureTypes: failureTypes(), labHosts: labHosts() })
    );
    return;
  }
  if (command === 'check-envelopes' && rest.length === 2) {
    const kept = JSON.parse(fs.readFileSync(rest[0], 'utf8').replace(/^\uFEFF/, '')) as KeptEnvelope[] | KeptEnvelope;
    fs.writeFileSync(rest[1], JSON.stringify(checkEnvelopes(Array.isArray(kept) ? kept : [kept])));
    return;
  }
  throw new Error('usage: script-contract.ts assemble <out.json> | check-envelopes <in.json> <out.json>');
}

if (require.main === module) main(process.argv.slice(2));
