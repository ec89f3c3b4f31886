/**
 * What a Windows PowerShell 5.1 session on the worker prints for a lab outcome, so the lab's answers
 * travel the production runner's parsing path (runner/session-output.ts) instead of handing it objects:
 *
 * - a script's envelope as `ConvertTo-Json -Compress` of 5.1 writes it (Write-StepResult): one line,
 *   JavaScriptSerializer's escaping (\u0027 for ', \u003c \u003e \u0026 for < > &, \uXXXX for control
 *   characters; other characters, é or ü, as they are), then CRLF;
 * - a call that never reached the script (WinRM refused or did not answer, Kerberos failed, the session
 *   broke) as the error record Invoke-Command writes on stderr in NormalView: the message Windows gives,
 *   its CategoryInfo and the FullyQualifiedErrorId that carries the transport's error code.
 */
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';

export interface SessionText {
  stdout: string;
  stderr: string;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function jsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || ch === "'" || ch === '<' || ch === '>' || ch === '&') {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** `ConvertTo-Json -Compress` as Windows PowerShell 5.1 writes a document of strings, numbers, booleans, arrays and objects. */
export function powershell51Json(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(powershell51Json).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${jsonString(k)}:${powershell51Json(v)}`).join(',')}}`;
  }
  return 'null';
}

/** A transport failure of Invoke-Command: what Windows says and the error id the record carries. */
interface TransportError {
  message: string;
  /** The head of the FullyQualifiedErrorId: the transport's ErrorCode (signed decimal) or its name. */
  errorId: string;
  /** Broken while the script ran (the session dropped), not refused at connect. */
  midCall?: boolean;
}

const KERBEROS_CAUSES =
  ' Possible causes are: -The user name or password specified are invalid. -Kerberos is used when no authentication method and no user name are specified. -Kerberos accepts domain user names, but not local user names. -The Service Principal Name (SPN) for the remote computer name and port does not exist. -The client and remote computers are in different domains and there is no trust between the two domains.';

/**
 * The lab's transport codes (lab/fault-errors.ts names them in fault rules) as Windows reports them
 * through Invoke-Command: the texts of wsmerror.h and winerror.h, the error ids of PSRemotingTransportException.
 */
const TRANSPORT_ERRORS: Record<string, (computer: string) => TransportError> = {
  '0x80338012': () => ({
    message:
      'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig".',
    errorId: 'CannotConnect',
  }),
  '0x80338126': () => ({
    message:
      'WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet.',
    errorId: '-2144108250',
  }),
  '5': () => ({ message: 'Access is denied.', errorId: 'AccessDenied' }),
  '1326': () => ({ message: 'The user name or password is incorrect.', errorId: 'LogonFailure' }),
  ShellQuota: () => ({
    message:
      'The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.',
    errorId: '-2144108123',
  }),
  '0x80090322': () => ({
    message: `WinRM cannot process the request. The following error with errorcode 0x80090322 occurred while using Kerberos authentication: An unknown security error occurred.${KERBEROS_CAUSES}`,
    errorId: '-2146893022',
  }),
  KerberosUnreachable: (computer) => ({
    message: `WinRM cannot process the request. The following error occurred while using Kerberos authentication: Cannot find the computer ${computer}. Verify that the computer exists on the network and that the name provided is spelled correctly.`,
    errorId: 'NetworkPathNotFound',
  }),
  '0x80338029': () => ({
    message: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
    errorId: '-2144108503',
    midCall: true,
  }),
  '995': () => ({
    message: 'The I/O operation has been aborted because of either a thread exit or an application request.',
    errorId: 'JobFailure',
    midCall: true,
  }),
};

/** Whether a call of this code fails in the transport (stderr) rather than inside the script (its envelope). */
export function isTransportCode(code: string): boolean {
  return Object.hasOwn(TRANSPORT_ERRORS, code);
}

/** What Windows says for a transport code (the message of its PSRemotingTransportException). */
export function transportMessage(code: string, computer: string): string | undefined {
  return isTransportCode(code) ? TRANSPORT_ERRORS[code](computer).message : undefined;
}

/** The NormalView text of Invoke-Command's error record for a transport code on `computer`. */
export function transportErrorText(code: string, computer: string): string {
  const error = TRANSPORT_ERRORS[code](computer);
  const head = error.midCall
    ? `[${computer}] Processing data from remote server ${computer} failed with the following error message: ${error.message} For more information, see the about_Remote_Troubleshooting Help topic.`
    : `[${computer}] Connecting to remote server ${computer} failed with the following error message : ${error.message} For more information, see the about_Remote_Troubleshooting Help topic.`;
  const category = error.midCall ? 'OperationStopped' : 'OpenError';
  return [
    head,
    `    + CategoryInfo          : ${category}: (${computer}:String) [], PSRemotingTransportException`,
    `    + FullyQualifiedErrorId : ${error.errorId},PSSessionStateBroken`,
    '',
  ].join('\r\n');
}

/**
 * What the session prints for an envelope the lab estate produced: calls that open a WinRM session on
 * an Exchange server and fail in the transport are an error record on stderr; everything else (worker
 * and AD calls, failures the script caught) is the envelope on stdout.
 */
export function sessionTextOf(envelope: StepEnvelope, call: ScriptCall): SessionText {
  const code = envelope.error?.code;
  if (!envelope.ok && code !== undefined && call.target.host === 'exchange' && isTransportCode(code)) {
    return { stdout: '', stderr: transportErrorText(code, call.target.fqdn) };
  }
  return { stdout: `${powershell51Json(envelope)}\r\n`, stderr: '' };
}
