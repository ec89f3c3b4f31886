/**
 * Error records a session prints on stderr (a connection that failed before the script ran, or a
 * script that crashed) carry no envelope; their text holds the only code there is. Codes first,
 * en-US text last: localized servers keep the codes.
 */
const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/0x8033[0-9a-f]{4}/i, ''],
  [/Access is denied|AccessDenied|0x80070005/i, 'AccessDenied'],
  [/user name or password is incorrect|LogonFailure|logon failure/i, 'LogonFailure'],
  [/maximum number of concurrent shells/i, 'ShellQuota'],
  [/I\/O operation has been aborted|ConnectionDropped/i, 'ConnectionDropped'],
  [/Unable to contact the server|ADServerDown/i, 'ADServerDown'],
  [/Cannot find an object with identity|ADIdentityNotFound/i, 'ADIdentityNotFound'],
  [/Insufficient access rights/i, '8344'],
];

/** The failure code a stderr text carries, or `PowerShellError` when it names none. */
export function codeFromStderr(text: string): string {
  for (const [pattern, code] of PATTERNS) {
    const match = pattern.exec(text);
    if (match) return code || match[0].toLowerCase();
  }
  return 'PowerShellError';
}
