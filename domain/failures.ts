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
  /** Stable identifiers the scripts (and the lab) report in `error.code`. */
  codes: readonly string[];
  meaning: string;
  fix: string;
}

export const FAILURE_KINDS = [
  {
    type: 'AccessDenied',
    retry: 'auth',
    codes: ['5', 'AccessDenied', '0x80070005'],
    meaning: 'the onboarding identity was refused (not a local admin, or the endpoint ACL denies it)',
    fix: 'make the onboarding account a local administrator on the server, then retry',
  },
  {
    type: 'CredentialsRejected',
    retry: 'auth',
    codes: ['1326', '1909', 'LogonFailure'],
    meaning: 'user name or password rejected, or the account is locked out',
    fix: 'check FLEET_ADMIN_USER and its password file on the worker; unlock the account in AD',
  },
  {
    type: 'WinRMUnavailable',
    retry: 'transient',
    codes: ['0x80338012', '0x80338126', 'WinRMUnavailable'],
    meaning: 'WinRM did not answer (service stopped, restarting, or the host is unreachable)',
    fix: 'start WinRM on the server (console or GPO); remoting cannot bootstrap itself',
  },
  {
    type: 'WinRMTimeout',
    retry: 'transient',
    codes: ['0x80338029', 'Timeout'],
    meaning: 'the WinRM operation or the PowerShell call timed out',
    fix: 'retried automatically; if it persists check the server load and the network path',
  },
  {
    type: 'ConnectionDropped',
    retry: 'transient',
    codes: ['995', 'ConnectionDropped'],
    meaning: 'the connection dropped mid-call, as when WinRM restarts',
    fix: 'retried automatically with a fresh session',
  },
  {
    type: 'ShellQuotaExceeded',
    retry: 'transient',
    codes: ['ShellQuota'],
    meaning: 'too many concurrent WinRM shells for this user',
    fix: 'retried automatically; lower the worker concurrency if it persists',
  },
  {
    type: 'ADObjectNotFound',
    retry: 'permanent',
    codes: ['ADIdentityNotFound'],
    meaning: 'no computer object with that sAMAccountName in the domain',
    fix: 'check computerName in the fleet file and that the server is in this domain',
  },
  {
    type: 'ADInsufficientRights',
    retry: 'permanent',
    codes: ['8344', 'ADInsufficientRights'],
    meaning: 'the account may not change delegation on the computer object (needs SeEnableDelegationPrivilege)',
    fix: 'run the AD worker as an account with delegation rights (Domain Admins) or have an admin set it',
  },
  {
    type: 'ADServerDown',
    retry: 'transient',
    codes: ['ADServerDown'],
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
    meaning: "the certificate's subject/SAN does not carry the server's FQDN",
    fix: 'enrol a certificate whose SAN includes the FQDN',
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
    meaning: 'no certificate in LocalMachine\\My meets the rules and self-signed is not allowed',
    fix: 'enrol a Server Authentication certificate for the FQDN, or allow self-signed in the policy',
  },
  {
    type: 'ListenerAlreadyExists',
    retry: 'transient',
    codes: ['0x80338033'],
    meaning: 'an HTTPS listener appeared between check and create',
    fix: 'retried automatically: the next attempt finds it and updates it in place',
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
    codes: ['PolicyControlled'],
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

/** Classify a script's error code; unknown codes fall back on the script's advisory class. */
export function classifyCode(code: string, advisory?: string): FailureKind {
  const known = BY_CODE.get(code.toLowerCase());
  if (known) return known;
  if (advisory === 'transient') return failureKind('WinRMUnavailable');
  if (advisory === 'auth') return failureKind('AccessDenied');
  if (advisory === 'policy') return failureKind('PolicyControlled');
  return failureKind('PowerShellError');
}

/** Types that are never retried by Temporal (listed in every activity retry policy). */
export const NON_RETRYABLE_TYPES: readonly string[] = FAILURE_KINDS.filter((k) => k.retry === 'permanent').map(
  (k) => k.type
);

/** How a step that changes a server is retried: the fleet's stepRetry, doubling up to 2 minutes. */
export function stepRetryPolicy(initialIntervalMs: number, maximumAttempts: number): RetryPolicy {
  return {
    initialInterval: initialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  };
}
