/**
 * Builds the PowerShell text a session runs for one script call. Values never become PowerShell
 * syntax: the only call-specific parts are one base64 JSON request (its alphabet holds no quote) and
 * a validated computer name as a single-quoted literal.
 *
 * The script travels in the command itself: the step's standalone text (`standaloneScript`, the same
 * text `fleet script` writes) as base64 of UTF-8, decoded into one script block. Locally it runs in a
 * fresh module scope; remotely `Invoke-Command -ScriptBlock` ships that one block, so nothing has to be
 * installed or dot-sourced on the server. No PowerShell 7-only syntax: Windows PowerShell 5.1 runs it.
 *
 * The command is ASCII only (everything else travels inside base64 of UTF-8), so the console's input
 * code page never matters; the output is made UTF-8 by SESSION_OUTPUT.
 */
import type { ScriptMode } from '../domain/envelope';
import type { JsonValue, ScriptCall } from '../domain/scripts';
import { fqdnSchema } from '../domain/validators';
import { standaloneScript } from './script-text';

/** Every character PowerShell's tokenizer accepts as a single quote (`CharTraits.IsSingleQuote`). */
const SINGLE_QUOTE_CHARS = /['\u2018\u2019\u201A\u201B]/g;
/** A line break ends a statement even inside a one-line command; NUL truncates native strings. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_LITERAL = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

/**
 * The environment variables that hand the onboarding admin credential (FLEET_ADMIN_*) to a new pwsh
 * process. The session's first command reads them into a PSCredential (SESSION_CREDENTIAL) and removes
 * them from the process environment before any script runs, so no program a script starts inherits
 * them.
 */
export const CREDENTIAL_ENV = {
  user: 'MONOSYNC_ONBOARDING_ADMIN_USER',
  password: 'MONOSYNC_ONBOARDING_ADMIN_PASSWORD',
} as const;
/** The global variable of a session that holds the credential once read (a PSCredential, SecureString inside). */
export const SESSION_CREDENTIAL = 'MonosyncOnboardingAdminCredential';

/**
 * The same hand-over for Monosync's service account (FLEET_SERVICE_ACCOUNT_*), which the acceptance test
 * acts as. It goes to the scripts of ACTS_AS_SERVICE_ACCOUNT only, as their -ServiceCredential parameter.
 */
export const SERVICE_ACCOUNT_ENV = {
  user: 'MONOSYNC_SERVICE_ACCOUNT_USER',
  password: 'MONOSYNC_SERVICE_ACCOUNT_PASSWORD',
} as const;
export const SESSION_SERVICE_ACCOUNT_CREDENTIAL = 'MonosyncServiceAccountCredential';
/** The scripts that act as Monosync's service account, not as the onboarding admin: the acceptance test. */
export const ACTS_AS_SERVICE_ACCOUNT: readonly ScriptCall['script'][] = ['Test-MonosyncConnectivity'];

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
  /** The pwsh process was started with `CREDENTIAL_ENV` set; else the worker's own Kerberos identity. */
  useCredential: boolean;
  /** The pwsh process was started with `SERVICE_ACCOUNT_ENV` set (the acceptance test acts as that account). */
  useServiceAccountCredential?: boolean;
  /** WinRM open/operation timeouts, kept below the runner's own per-call timeout. */
  timeoutMs: number;
}

/**
 * `$sb = <the script as a script block>`: base64 in a single-quoted literal, so no character of the
 * script is ever parsed as part of the command line.
 */
export function scriptBlockStatement(scriptText: string): string {
  const encoded = quotePowerShellLiteral(Buffer.from(scriptText, 'utf8').toString('base64'));
  return `$sb = [scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String(${encoded})))`;
}

/**
 * The computer a call opens a WinRM session to, or null to run in the local pwsh session. An AD step runs
 * in the AD worker's own session (the worker runs on the AD management host, with the ActiveDirectory
 * module) and names its DC with -Server: remoting into a DC would need admin rights there, and AD cmdlets
 * inside any remote session are a second hop to AD Web Services that Kerberos refuses.
 */
export function remoteComputer(call: ScriptCall): string | null {
  const { target } = call;
  if (target.host !== 'exchange') return null;
  const name = target.fqdn;
  const parsed = fqdnSchema.safeParse(name);
  if (!parsed.success) throw new Error(`remote computer ${JSON.stringify(name)} is not a DNS name`);
  return parsed.data;
}

const PREAMBLE = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'";
/**
 * How the session prints, set before anything is printed (PowerShell keeps the stdout writer it first
 * printed with): UTF-8 without BOM, which node-powershell decodes, instead of the console's OEM code page
 * on Windows (850 turns "à distance" into bytes that are not UTF-8); errors in NormalView, whose
 * FullyQualifiedErrorId line (`AccessDenied,PSSessionStateBroken`) keeps a code when the message is
 * localised (PowerShell 7's ConciseView prints the message alone); no ANSI colours.
 * Setting the console encoding can fail without a console: the output then stays as it was.
 */
const SESSION_OUTPUT =
  'if ([Console]::OutputEncoding.CodePage -ne 65001) { try { [Console]::OutputEncoding = ' +
  'New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false } catch { } }; ' +
  "$global:ErrorView = 'NormalView'; if ($null -ne $PSStyle) { $PSStyle.OutputRendering = 'PlainText' }";
/**
 * The first command of a session moves the credential from the environment into a PSCredential and
 * removes both variables from the process, before its script runs; later commands find them gone.
 * Remove-Item, not `[Environment]::SetEnvironmentVariable($name, $null)`: PowerShell passes $null to a
 * string parameter as '', and .NET on PowerShell 7 then keeps the variable, empty, for every child.
 */
const CAPTURE_CREDENTIAL =
  `if ($null -ne $env:${CREDENTIAL_ENV.password}) { $global:${SESSION_CREDENTIAL} = ` +
  `New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:${CREDENTIAL_ENV.user}, ` +
  `(ConvertTo-SecureString -String $env:${CREDENTIAL_ENV.password} -AsPlainText -Force); ` +
  `Remove-Item -LiteralPath 'Env:${CREDENTIAL_ENV.password}', 'Env:${CREDENTIAL_ENV.user}' -ErrorAction SilentlyContinue }`;
const CAPTURE_SERVICE_ACCOUNT_CREDENTIAL =
  `if ($null -ne $env:${SERVICE_ACCOUNT_ENV.password}) { $global:${SESSION_SERVICE_ACCOUNT_CREDENTIAL} = ` +
  `New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $env:${SERVICE_ACCOUNT_ENV.user}, ` +
  `(ConvertTo-SecureString -String $env:${SERVICE_ACCOUNT_ENV.password} -AsPlainText -Force); ` +
  `Remove-Item -LiteralPath 'Env:${SERVICE_ACCOUNT_ENV.password}', 'Env:${SERVICE_ACCOUNT_ENV.user}' -ErrorAction SilentlyContinue }`;
const CREDENTIAL =
  `$cred = $global:${SESSION_CREDENTIAL}; ` +
  `if ($null -eq $cred) { throw 'the onboarding admin credential did not reach this PowerShell session' }`;

/**
 * One line on purpose: node-powershell feeds `pwsh -Command -` line by line, and a multi-line block
 * would need a blank line to end it.
 */
export function buildCommand(call: ScriptCall, options: CommandOptions): string {
  const scriptBlock = scriptBlockStatement(standaloneScript(call.script));
  const request = quotePowerShellLiteral(encodeRequest(call));
  const computer = remoteComputer(call);
  const session = [
    PREAMBLE,
    SESSION_OUTPUT,
    ...(options.useCredential ? [CAPTURE_CREDENTIAL] : []),
    ...(options.useServiceAccountCredential ? [CAPTURE_SERVICE_ACCOUNT_CREDENTIAL] : []),
  ].join('; ');
  if (computer === null) {
    // GetNewClosure binds the block to a new dynamic module: its `$script:` variables stay there instead
    // of landing in the long-lived session's global scope (a .ps1 file would get its own script scope).
    const actAs =
      options.useServiceAccountCredential && ACTS_AS_SERVICE_ACCOUNT.includes(call.script)
        ? ` -ServiceCredential $global:${SESSION_SERVICE_ACCOUNT_CREDENTIAL}`
        : '';
    return `& { ${session}; ${scriptBlock}; & $sb.GetNewClosure() -RequestBase64 ${request}${actAs} }`;
  }

  const operationMs = Math.max(1000, Math.floor(options.timeoutMs * 0.9));
  const sessionOption = `$so = New-PSSessionOption -OpenTimeout ${Math.min(30000, operationMs)} -OperationTimeout ${operationMs}`;
  const credential = options.useCredential ? [CREDENTIAL] : [];
  const credentialArg = options.useCredential ? ' -Credential $cred' : '';
  const invoke =
    `Invoke-Command -ComputerName ${quotePowerShellLiteral(computer)}${credentialArg} -SessionOption $so ` +
    `-ScriptBlock $sb -ArgumentList ${request}`;
  return `& { ${[session, ...credential, sessionOption, scriptBlock, invoke].join('; ')} }`;
}
