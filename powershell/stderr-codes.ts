/**
 * The code an error record carries when it reaches the worker as text: a connection that failed before
 * the script ran (Invoke-Command's PSRemotingTransportException), a session that broke mid-call, or a
 * script that crashed. There is no envelope then; the record's NormalView text is all there is:
 *
 *   [exch01.corp.example] Connecting to remote server exch01.corp.example failed with the following error
 *   message : WinRM cannot process the request. The following error with errorcode 0x80090322 occurred
 *   while using Kerberos authentication: ... For more information, see the about_Remote_Troubleshooting Help topic.
 *       + CategoryInfo          : OpenError: (exch01.corp.example:String) [], PSRemotingTransportException
 *       + FullyQualifiedErrorId : -2146893022,PSSessionStateBroken
 *
 * Codes first (the FullyQualifiedErrorId's number is the transport's ErrorCode; 'errorcode 0x…' and
 * 'Error number: -2144108183 0x80338169' in the message), then the error id's name (AccessDenied,
 * CannotConnect), then the en-US texts of domain/failures.ts (a localised server keeps only the codes),
 * last a Broken session with nothing more specific.
 */
import { FAILURE_KINDS } from '../domain/failures';

/**
 * The failure code of a numeric Win32 error, HRESULT or WinRM code, as domain/failures.ts lists them
 * (and as ConvertTo-StepCode in powershell/MonosyncCommon.ps1 writes them): Win32 numbers and
 * HRESULT_FROM_WIN32 (0x8007xxxx) in decimal, every other HRESULT as 0x%08X.
 */
export function stepCodeOfNumber(value: number): string {
  const unsigned = value >>> 0;
  if (unsigned > 0 && unsigned < 0x10000) return String(unsigned);
  if ((unsigned & 0xffff0000) >>> 0 === 0x80070000) return String(unsigned & 0xffff);
  return `0x${unsigned.toString(16).toUpperCase().padStart(8, '0')}`;
}

const ERROR_ID = /FullyQualifiedErrorId\s*:\s*([^,\r\n]+)(?:,([^\r\n]*))?/;
/** The codes a message names: 'errorcode 0x80090322', 'Error number:  -2144108183 0x80338169', a bare 0x8033…. */
const HEX_IN_TEXT = /\b0x(80(?:33|09|07)[0-9a-f]{4})\b/i;
/** A named error id ('AccessDenied', 'LogonFailure', 'CannotConnect') stands for its kind's first code ('5', '1326', '0x80338012'). */
const NAMED_IDS = new Map<string, string>(
  FAILURE_KINDS.flatMap((k) => k.codes.map((c) => [c.toLowerCase(), k.codes[0]] as const))
);
const TEXTS: ReadonlyArray<readonly [string, string]> = FAILURE_KINDS.flatMap((k) =>
  ('windowsText' in k ? (k.windowsText as readonly string[]) : []).map(
    (text) => [text.toLowerCase(), k.codes[0]] as const
  )
);
const BROKEN_SESSION = /PSSessionStateBroken|session state is (?:Broken|Disconnected)/i;

/** The failure code a stderr text carries, or `PowerShellError` when it names none. */
export function codeFromStderr(text: string): string {
  const errorId = ERROR_ID.exec(text);
  const head = errorId?.[1].trim() ?? '';
  if (/^-?\d{1,10}$/.test(head)) return stepCodeOfNumber(Number(head));
  const hex = HEX_IN_TEXT.exec(text);
  if (hex) return stepCodeOfNumber(Number.parseInt(hex[1], 16));
  const named = BROKEN_SESSION.test(head) ? undefined : NAMED_IDS.get(head.toLowerCase());
  if (named) return named;
  const lower = text.toLowerCase();
  for (const [windowsText, code] of TEXTS) if (lower.includes(windowsText)) return code;
  if (BROKEN_SESSION.test(text)) return 'PSSessionStateBroken';
  return 'PowerShellError';
}
