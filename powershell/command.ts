/**
 * Builds the PowerShell text a session runs for one script call. Values never become PowerShell
 * syntax: the only call-specific parts are one base64 JSON request (its alphabet holds no quote) and
 * validated identifiers (script path, computer name) as single-quoted literals.
 *
 * Remote calls use `Invoke-Command -FilePath`, which reads the script on the worker and ships its
 * text, so every script is self-contained (its helpers are inlined; nothing is dot-sourced).
 */
import * as path from 'node:path';
import type { JsonValue, ScriptCall } from '../domain/scripts';
import { SCRIPT_NAMES, type ScriptMode, type ScriptName } from '../domain/steps';
import { fqdnSchema } from '../domain/validators';

/** Every character PowerShell's tokenizer accepts as a single quote (`CharTraits.IsSingleQuote`). */
const SINGLE_QUOTE_CHARS = /['\u2018\u2019\u201A\u201B]/g;
/** A line break ends a statement even inside a one-line command; NUL truncates native strings. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_LITERAL = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

/** Names of the environment variables the runner sets on each pwsh process for the credential. */
export const CREDENTIAL_ENV = { user: 'MONOSYNC_USER', password: 'MONOSYNC_PASSWORD' } as const;

export function quotePowerShellLiteral(value: string): string {
  if (FORBIDDEN_IN_LITERAL.test(value)) {
    throw new Error('a PowerShell literal may not contain NUL, control characters or line breaks');
  }
  return `'${value.replace(SINGLE_QUOTE_CHARS, (quote) => quote + quote)}'`;
}

/** What a script decodes from `-RequestBase64`. */
export interface ScriptRequest {
  mode: ScriptMode;
  params: Record<string, JsonValue>;
  rollbackTo: JsonValue;
}

export function encodeRequest(call: ScriptCall): string {
  const request: ScriptRequest = { mode: call.mode, params: call.params, rollbackTo: call.rollbackTo ?? null };
  return Buffer.from(JSON.stringify(request), 'utf8').toString('base64');
}

export function decodeRequest(base64: string): ScriptRequest {
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as ScriptRequest;
}

export interface CommandOptions {
  scriptsDir: string;
  /** The pwsh process carries `MONOSYNC_USER`/`MONOSYNC_PASSWORD`; else the worker's own Kerberos identity. */
  useCredential: boolean;
  /** Host with the ActiveDirectory module for AD steps; else the target's DC; else this worker. */
  adManagementHost?: string;
  /** WinRM open/operation timeouts, kept below the runner's own per-call timeout. */
  timeoutMs: number;
}

export function scriptPath(scriptsDir: string, script: ScriptName): string {
  if (!(SCRIPT_NAMES as readonly string[]).includes(script)) throw new Error(`unknown script ${String(script)}`);
  return path.join(scriptsDir, `${script}.ps1`);
}

/** The computer a call opens a WinRM session to, or null to run in the local pwsh session. */
export function remoteComputer(call: ScriptCall, options: Pick<CommandOptions, 'adManagementHost'>): string | null {
  const { target } = call;
  if (target.host === 'worker') return null;
  const name = target.host === 'exchange' ? target.fqdn : (options.adManagementHost ?? target.domainController);
  if (name === undefined) return null;
  const parsed = fqdnSchema.safeParse(name);
  if (!parsed.success) throw new Error(`remote computer ${JSON.stringify(name)} is not a DNS name`);
  return parsed.data;
}

const PREAMBLE = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'";
const CREDENTIAL =
  `$cred = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList ` +
  `$env:${CREDENTIAL_ENV.user}, (ConvertTo-SecureString -String $env:${CREDENTIAL_ENV.password} -AsPlainText -Force)`;

/**
 * One line on purpose: node-powershell feeds `pwsh -Command -` line by line, and a multi-line block
 * would need a blank line to end it.
 */
export function buildCommand(call: ScriptCall, options: CommandOptions): string {
  const file = quotePowerShellLiteral(scriptPath(options.scriptsDir, call.script));
  const request = quotePowerShellLiteral(encodeRequest(call));
  const computer = remoteComputer(call, options);
  if (computer === null) return `& { ${PREAMBLE}; & ${file} -RequestBase64 ${request} }`;

  const operationMs = Math.max(1000, Math.floor(options.timeoutMs * 0.9));
  const sessionOption = `$so = New-PSSessionOption -OpenTimeout ${Math.min(30000, operationMs)} -OperationTimeout ${operationMs}`;
  const credential = options.useCredential ? [CREDENTIAL] : [];
  const credentialArg = options.useCredential ? ' -Credential $cred' : '';
  const invoke =
    `Invoke-Command -ComputerName ${quotePowerShellLiteral(computer)}${credentialArg} -SessionOption $so ` +
    `-FilePath ${file} -ArgumentList ${request}`;
  return `& { ${[PREAMBLE, ...credential, sessionOption, invoke].join('; ')} }`;
}
