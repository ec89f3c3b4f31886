/**
 * Every failure a step can meet, and whether Temporal retries it. The README's table is generated
 * from this one (`npm run fleet -- failures`), so there is a single source.
 *
 * - transient: retried with exponential backoff by the activity retry policy.
 * - auth: retried at most once, then permanent; repeated bad logons lock the account out of AD.
 * - permanent: non-retryable `ApplicationFailure` of this `type`; the server waits for an operator.
 */
import type { RetryPolicy } from '@temporalio/common';

type RetryClass = 'transient' | 'auth' | 'permanent';

export interface FailureKind {
  type: string;
  retry: RetryClass;
  /**
   * Stable identifiers the scripts report in `error.code` and the production runner reads from an
   * error record's text (powershell/stderr-codes.ts): Win32 numbers in decimal ('5'), HRESULTs and
   * WinRM/SSPI codes as '0x%08X', our own names for the rest.
   */
  codes: readonly string[];
  /**
   * What Windows (en-US) prints for it, as an error record reaches the worker: the texts
   * powershell/stderr-codes.ts recognises when no code survived (a localised server keeps the codes).
   */
  windowsText?: readonly string[];
  meaning: string;
  fix: string;
  /** Why this handling, with the source of the code's meaning (wsmerror.h, winerror.h, the cmdlet). */
  why?: string;
}

export const FAILURE_KINDS = [
  {
    type: 'AccessDenied',
    retry: 'auth',
    codes: ['5', 'AccessDenied', '0x80070005'],
    windowsText: ['Access is denied.', 'Access denied.'],
    meaning:
      'the onboarding identity was refused: not a local administrator, the endpoint ACL denies it, or UAC remote restrictions filtered the token of a local (non-domain) administrator other than the built-in one',
    fix: 'use a domain account that is a local administrator on the server, then retry; a local account other than the built-in Administrator only works remotely with LocalAccountTokenFilterPolicy=1, a security decision this product leaves to you',
    why: 'Win32 5 / E_ACCESSDENIED (winerror.h); retried once in case a group membership was still replicating',
  },
  {
    type: 'CredentialsRejected',
    retry: 'auth',
    codes: ['1326', '1909', 'LogonFailure', '0x8009030C'],
    windowsText: ['The user name or password is incorrect.', 'The referenced account is currently locked out'],
    meaning: 'user name or password rejected, or the account is locked out',
    fix: 'check FLEET_ADMIN_USER and its password file on the worker; unlock the account in AD',
    why: 'ERROR_LOGON_FAILURE 1326, ERROR_ACCOUNT_LOCKED_OUT 1909, SEC_E_LOGON_DENIED 0x8009030C (winerror.h); a retry repeats the bad logon',
  },
  {
    type: 'WinRMUnavailable',
    retry: 'transient',
    codes: ['0x80338012', '0x80338126', 'WinRMUnavailable', '10061', '10060', '12029', 'CannotConnect'],
    windowsText: [
      'The client cannot connect to the destination specified in the request.',
      'WinRM cannot complete the operation. Verify that the specified computer name is valid',
    ],
    meaning: 'WinRM did not answer (service stopped, restarting, or the host is unreachable)',
    fix: 'start WinRM on the server (console or GPO); remoting cannot bootstrap itself',
    why: 'ERROR_WSMAN_DESTINATION_UNREACHABLE 0x80338012 and ERROR_WSMAN_NETWORK_TIMEDOUT 0x80338126 (wsmerror.h), WSAECONNREFUSED 10061, WSAETIMEDOUT 10060, ERROR_WINHTTP_CANNOT_CONNECT 12029: what a host restarting WinRM or rebooting shows, so it is retried',
  },
  {
    type: 'WinRMTimeout',
    retry: 'transient',
    codes: ['0x80338029', 'Timeout', 'WinRMOperationTimeout'],
    windowsText: [
      'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
    ],
    meaning: 'the WinRM operation or the PowerShell call timed out',
    fix: 'retried automatically; if it persists check the server load and the network path',
    why: 'ERROR_WSMAN_OPERATION_TIMEDOUT 0x80338029 (wsmerror.h)',
  },
  {
    type: 'ConnectionDropped',
    retry: 'transient',
    codes: ['995', 'ConnectionDropped', 'PSSessionStateBroken', 'JobFailure'],
    windowsText: [
      'The I/O operation has been aborted because of either a thread exit or an application request.',
      'Processing data for a remote command failed',
      'The session state is Broken',
      'The session state is Disconnected',
    ],
    meaning: 'the connection dropped mid-call, as when WinRM restarts (the PSSession is Broken or Disconnected)',
    fix: 'retried automatically with a fresh session',
    why: 'ERROR_OPERATION_ABORTED 995; a Broken session (PSSessionStateBroken) with no code of its own is a lost transport',
  },
  {
    type: 'ShellQuotaExceeded',
    retry: 'transient',
    codes: ['ShellQuota', '0x803381A5', '0x803381A7', '0x803381AB'],
    windowsText: ['The maximum number of concurrent shells for this user has been exceeded.'],
    meaning: 'too many concurrent WinRM shells for this user',
    fix: 'retried automatically; lower the worker concurrency if it persists',
    why: 'ERROR_WSMAN_QUOTA_MAX_SHELLS 0x803381A5, _QUOTA_USER 0x803381A7, _QUOTA_MAX_SHELLUSERS 0x803381AB (wsmerror.h): shells close, the quota frees',
  },
  {
    type: 'KerberosTargetMismatch',
    retry: 'permanent',
    codes: ['0x80090322'],
    windowsText: [
      'The target principal name is incorrect.',
      'errorcode 0x80090322 occurred while using Kerberos authentication',
    ],
    meaning:
      "Kerberos refused the server's name: the HTTP/<fqdn> SPN belongs to another account (a duplicate SPN, an IIS application pool) or DNS sends the name to another machine",
    fix: "setspn -Q HTTP/<fqdn> must name only the server's computer account (remove a duplicate with setspn -D); check the DNS A record; then retry",
    why: 'SEC_E_WRONG_PRINCIPAL 0x80090322 (winerror.h): the ticket is for another key; retrying cannot change that',
  },
  {
    type: 'KerberosUnreachable',
    retry: 'permanent',
    codes: ['KerberosUnreachable', '0x80090311', '0x80090303'],
    windowsText: [
      'No authority could be contacted for authentication.',
      'There are currently no logon servers available to service the logon request.',
      'occurred while using Kerberos authentication: Cannot find the computer',
    ],
    meaning:
      'Kerberos cannot reach this server at all: it is not a member of a domain the worker trusts (an Edge Transport or workgroup server), or has no SPN',
    fix: "onboard only members of the domain (an Edge Transport server stays outside: configure it by hand with HTTPS and certificate authentication); check that the FQDN is the computer's DNS name in AD",
    why: 'SEC_E_NO_AUTHENTICATING_AUTHORITY 0x80090311, SEC_E_TARGET_UNKNOWN 0x80090303 (winerror.h): no KDC issues a ticket for a name outside the forest; waiting does not add it',
  },
  {
    type: 'CertificateRejected',
    retry: 'permanent',
    codes: ['12175', '0x80090325', 'CertificateRejected'],
    windowsText: [
      'The server certificate on the destination computer',
      'The SSL certificate contains a common name (CN) that does not match the hostname.',
      'The SSL certificate is signed by an unknown certificate authority.',
    ],
    meaning: 'the WinRM client refused the certificate the server serves on 5986 (name, dates or chain)',
    fix: 'bind a certificate that names the FQDN, is valid and chains to a root the Monosync side trusts (re-run the HTTPS listener step)',
    why: 'ERROR_WINHTTP_SECURE_FAILURE 12175, SEC_E_UNTRUSTED_ROOT 0x80090325: the served certificate does not change by itself',
  },
  {
    type: 'PublicNetworkProfile',
    retry: 'permanent',
    codes: ['0x80338169'],
    windowsText: [
      'WinRM firewall exception will not work since one of the network connection types on this machine is set to Public.',
    ],
    meaning: 'WinRM quickconfig refused: a network adapter of the server is in the Public profile',
    fix: 'find it (Get-NetConnectionProfile) and make it DomainAuthenticated (fix the NLA/DC reachability) or Private, then retry',
    why: 'ERROR_WSMAN_QUICK_CONFIG_... 0x80338169 (wsmerror.h, `winrm helpmsg 0x80338169`): a network setting, not a passing state; every other 0x8033xxxx without an entry here is a PowerShellError, no longer retried blindly',
  },
  {
    type: 'WSManResourceChanged',
    retry: 'transient',
    codes: ['0x80338000'],
    windowsText: [
      'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.',
    ],
    meaning: 'a WinRM resource (a listener) disappeared between the check and the write',
    fix: 'retried automatically: the next attempt reads the state again and creates it',
    why: 'ERROR_WSMAN_RESOURCE_NOT_FOUND 0x80338000 (wsmerror.h)',
  },
  {
    type: 'ADObjectNotFound',
    retry: 'permanent',
    codes: ['ADIdentityNotFound'],
    windowsText: ['Cannot find an object with identity'],
    meaning: 'no computer object with that sAMAccountName in the domain',
    fix: 'check computerName in the fleet file and that the server is in this domain',
  },
  {
    type: 'ADInsufficientRights',
    retry: 'permanent',
    codes: ['8344', 'ADInsufficientRights'],
    windowsText: ['Insufficient access rights to perform the operation.'],
    meaning: 'the account may not change delegation on the computer object (needs SeEnableDelegationPrivilege)',
    fix: 'run the AD worker as an account with delegation rights (Domain Admins) or have an admin set it',
  },
  {
    type: 'ADServerDown',
    retry: 'transient',
    codes: ['ADServerDown'],
    windowsText: ['Unable to contact the server.'],
    meaning: 'AD Web Services on the domain controller did not answer',
    fix: 'retried automatically; check domainController in the fleet file and TCP 9389',
  },
  {
    type: 'ADModuleMissing',
    retry: 'permanent',
    codes: ['ModuleMissing'],
    meaning: 'the ActiveDirectory PowerShell module is not installed on the AD worker host',
    fix: 'install RSAT-AD-PowerShell on the host that runs the AD worker',
  },
  {
    type: 'ADComputerMismatch',
    retry: 'permanent',
    codes: ['ADComputerMismatch'],
    meaning:
      "the computer object found by sAMAccountName is not this server's: its DNSHostName is another FQDN or empty (a name truncated to 15 characters, or a stale object)",
    fix: "set computerName: for the server in the fleet file to its own object's sAMAccountName (without the $)",
    why: 'a fact of the directory: retrying reads the same object, and changing delegation on it would change another host',
  },
  {
    type: 'DelegationBlocked',
    retry: 'permanent',
    codes: ['DelegationBlocked'],
    meaning:
      "Monosync's service account is in Protected Users or marked 'Account is sensitive and cannot be delegated': Kerberos never forwards its tickets, so delegation cannot work",
    fix: "take the account out of Protected Users and clear 'Account is sensitive', or set policy.delegation: skip and remove the second hop",
    why: 'the KDC never issues a forwardable ticket for such an account; setting TrustedForDelegation would weaken AD for nothing',
  },
  {
    type: 'PrincipalNotFound',
    retry: 'permanent',
    codes: ['PrincipalNotFound', '1332'],
    windowsText: ['Some or all identity references could not be translated.'],
    meaning: 'the service account does not resolve on the server (unknown name, or a server in no domain)',
    fix: 'check serviceAccount in the fleet file; on a server outside the domain grant the access by hand',
    why: 'ERROR_NONE_MAPPED 1332 / IdentityNotMappedException: the name is wrong or the server cannot ask a DC; retrying the same name fails the same way',
  },
  {
    type: 'DomainController',
    retry: 'permanent',
    codes: ['DomainController'],
    meaning: 'the server is a domain controller: its Remote Management Users is the domain-wide BUILTIN group',
    fix: 'take it out of the fleet, or change the group deliberately by hand',
    why: 'Win32_ComputerSystem.DomainRole 4 or 5; a fact of the server, not a passing state',
  },
  {
    type: 'EndpointMissing',
    retry: 'permanent',
    codes: ['EndpointMissing'],
    meaning: 'the Microsoft.PowerShell endpoint is not registered on the server',
    fix: 'run the Enable-Remoting step (or Register-PSSessionConfiguration Microsoft.PowerShell), then retry',
    why: 'a step ordered after Enable-Remoting found its work undone: an operator must look',
  },
  {
    type: 'CertificateNoPrivateKey',
    retry: 'permanent',
    codes: ['CertNoPrivateKey'],
    meaning: 'the listener certificate has no private key in LocalMachine\\My',
    fix: 'import the certificate with its private key (PFX) or enrol a new one',
  },
  {
    type: 'CertificateNameMismatch',
    retry: 'permanent',
    codes: ['0x803380E9', 'CertNameMismatch'],
    meaning:
      "no certificate's subject CN is the server's FQDN: WinRM binds a listener only then (a SAN-only match, " +
      "such as Exchange's CN=<computer name> or a CN=mail.<domain> certificate, does not do)",
    fix: 'enrol a Server Authentication certificate with CN=<the FQDN> (and the FQDN in its SAN)',
  },
  {
    type: 'CertificateExpired',
    retry: 'permanent',
    codes: ['CertExpired'],
    meaning: 'the only certificate for the FQDN has expired or has too few days left',
    fix: 'enrol or renew the machine certificate (AD CS autoenrolment), then retry',
  },
  {
    type: 'NoSuitableCertificate',
    retry: 'permanent',
    codes: ['NoSuitableCertificate', '0x80338115'],
    meaning:
      'no certificate in LocalMachine\\My meets the rules (evidence.candidates says why each was rejected: bound ' +
      'to Exchange services, an untrusted chain, a self-signed one the Monosync servers do not trust...)',
    fix: 'enrol a Server Authentication certificate with CN=<the FQDN> from a CA the servers trust, then retry',
  },
  {
    type: 'StaleSslBinding',
    retry: 'permanent',
    codes: ['StaleSslBinding'],
    meaning: 'HTTP.sys holds an SSL binding on 0.0.0.0:<port> that no WinRM listener owns, so WinRM cannot create one',
    fix: 'check nothing else uses it, remove it (netsh http delete sslcert ipport=0.0.0.0:5986), then retry',
    why: 'left behind by a listener removed without WinRM, or another program: deleting it is an operator decision',
  },
  {
    type: 'ListenerAlreadyExists',
    retry: 'transient',
    codes: ['0x80338033'],
    windowsText: ['The WS-Management service cannot create the resource because it already exists.'],
    meaning: 'an HTTPS listener appeared between check and create',
    fix: 'retried automatically: the next attempt finds it and updates it in place',
  },
  {
    type: 'ObjectAlreadyExists',
    retry: 'transient',
    codes: ['183'],
    windowsText: ['Cannot create a file when that file already exists.'],
    meaning: 'the object (a firewall rule of that name) was created between the check and the create',
    fix: 'retried automatically: the next attempt finds it and updates it in place',
    why: 'ERROR_ALREADY_EXISTS 183 (winerror.h), as New-NetFirewallRule reports it',
  },
  {
    type: 'FirewallServiceStopped',
    retry: 'permanent',
    codes: ['1753'],
    windowsText: ['There are no more endpoints available from the endpoint mapper.'],
    meaning: 'the Windows Firewall service (MpsSvc) is not running, so no rule can be read or written',
    fix: 'start the Windows Defender Firewall service (and find out who stopped it: a GPO, another product), then retry',
    why: 'EPT_S_NOT_REGISTERED 1753 (winerror.h), as the NetSecurity cmdlets report a stopped MpsSvc: it does not start by itself',
  },
  {
    type: 'FirewallBlocked',
    retry: 'transient',
    codes: ['FirewallBlocked'],
    meaning: 'the port is filtered on the path between Monosync and the server',
    fix: 'retried for a while; then open TCP 5985/5986 on the network firewalls (operator ticket)',
  },
  {
    type: 'PolicyControlled',
    retry: 'permanent',
    codes: ['PolicyControlled', '0x8033808A'],
    windowsText: ['cannot be changed because is controlled by policies'],
    meaning: 'a Group Policy owns this setting; a local change would be reverted',
    fix: 'change the GPO (or set it to Not Configured), then retry',
  },
  {
    type: 'VerificationFailed',
    retry: 'permanent',
    codes: ['VerificationFailed'],
    meaning: 'the change did not verify over a fresh connection and was rolled back',
    fix: 'see the step evidence; fix the cause and retry',
  },
  {
    type: 'ScriptOutputInvalid',
    retry: 'permanent',
    codes: ['ScriptOutputInvalid'],
    meaning: 'the script printed something that is not the expected JSON document',
    fix: 'run the script by hand on the server with -Mode plan and report the output',
  },
  {
    type: 'PowerShellError',
    retry: 'permanent',
    codes: ['PowerShellError'],
    meaning: 'PowerShell reported an error the scripts do not classify',
    fix: 'read the message; run the script by hand with -Mode plan to reproduce',
  },
  {
    type: 'InvalidInput',
    retry: 'permanent',
    codes: ['InvalidInput'],
    meaning: 'a value failed validation before reaching PowerShell',
    fix: 'correct the fleet file value named in the message',
  },
] as const satisfies readonly FailureKind[];

export type FailureType = (typeof FAILURE_KINDS)[number]['type'];

const BY_CODE = new Map<string, FailureKind>();
for (const kind of FAILURE_KINDS) for (const code of kind.codes) BY_CODE.set(code.toLowerCase(), kind);

export function failureKind(type: FailureType): FailureKind {
  const kind = FAILURE_KINDS.find((k) => k.type === type);
  if (!kind) throw new Error(`unknown failure type ${type}`);
  return kind;
}

/**
 * A WinRM (FACILITY_WINRM, 0x8033xxxx) or SSPI (0x8009xxxx) code this table does not list. Most of
 * them are configuration (0x80338169: a Public network profile), so none is retried on the script's
 * word alone: only the codes listed above are transient.
 */
const UNLISTED_WINDOWS_CODE = /^0x80(33|09)[0-9a-f]{4}$/i;

/** Classify a script's error code; unknown codes fall back on the script's advisory class. */
export function classifyCode(code: string, advisory?: string): FailureKind {
  const known = BY_CODE.get(code.toLowerCase());
  if (known) return known;
  if (UNLISTED_WINDOWS_CODE.test(code)) return failureKind('PowerShellError');
  if (advisory === 'transient') return failureKind('WinRMUnavailable');
  if (advisory === 'auth') return failureKind('AccessDenied');
  if (advisory === 'policy') return failureKind('PolicyControlled');
  return failureKind('PowerShellError');
}

/** Types that are never retried by Temporal (listed in every activity retry policy). */
export const NON_RETRYABLE_TYPES: readonly string[] = FAILURE_KINDS.filter((k) => k.retry === 'permanent').map(
  (k) => k.type
);

/** The longest wait between a step's retries unless the fleet sets `stepRetry.maximumInterval`. */
export const DEFAULT_STEP_RETRY_MAXIMUM_INTERVAL = 2 * 60_000;

/** A fleet's stepRetry in milliseconds, as its servers get it (`maximumIntervalMs` absent: 2 minutes). */
export interface StepRetry {
  initialIntervalMs: number;
  maximumIntervalMs?: number;
  maximumAttempts: number;
}

/** A fleet file's `settings.stepRetry` as its steps' retries (fleets stored before maximumInterval have none). */
export function stepRetryOf(settings: {
  initialInterval: number;
  maximumInterval?: number;
  maximumAttempts: number;
}): StepRetry {
  return {
    initialIntervalMs: settings.initialInterval,
    maximumIntervalMs: settings.maximumInterval,
    maximumAttempts: settings.maximumAttempts,
  };
}

/**
 * How a step that changes a server is retried: the fleet's stepRetry, doubling up to its maximumInterval.
 * Permanent failures are raised non-retryable where they are made (activities/failures.ts), so the policy
 * does not list their types: the list would be written into every scheduled activity's history event
 * (0.5 kB each).
 */
export function stepRetryPolicy(retry: StepRetry): RetryPolicy {
  return {
    initialInterval: retry.initialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: retry.maximumIntervalMs ?? DEFAULT_STEP_RETRY_MAXIMUM_INTERVAL,
    maximumAttempts: retry.maximumAttempts,
  };
}
