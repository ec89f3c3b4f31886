/**
 * Certificate facts and the deterministic selection rule of the reference (§3.6): which certificates
 * in LocalMachine\My may back the WinRM HTTPS listener, which one wins, and — when none does — the
 * most specific reason, so the operator is told what to enrol or fix. What Windows adds to the rule:
 * WinRM binds a listener only to a certificate whose subject CN is the listener's Hostname (0x803380E9,
 * a SAN name does not do); a certificate Exchange has bound to its services is Exchange's to renew or
 * remove; a CA-issued certificate must pass Test-Certificate -Policy SSL on the server; and a self-signed
 * one works only where the Monosync servers already trust it.
 */
import type { ScriptError } from '../domain/envelope';
import type { LabCertificate } from './model';

export const DAY_MS = 86_400_000;

export interface CertificateRules {
  fqdn: string;
  now: Date;
  minDaysLeft: number;
  /** Issuer DNs allowed; empty = any issuer. */
  issuers: readonly string[];
  /** Thumbprints of the self-signed certificates the Monosync servers trust (upper case). */
  trustedSelfSigned: readonly string[];
  /** The host's facts: Exchange's service bindings and the chain check's errors, by thumbprint. */
  exchangeServices: Readonly<Record<string, readonly string[]>>;
  chainErrors: Readonly<Record<string, string>>;
}

export type CertificateProblem =
  | 'name-mismatch'
  | 'fqdn-only-in-san'
  | 'no-private-key'
  | 'no-server-auth'
  | 'not-yet-valid'
  | 'expired'
  | 'too-few-days-left'
  | 'issuer-not-allowed'
  | 'self-signed-not-trusted-by-monosync'
  | 'bound-to-exchange'
  | 'chain-untrusted';

export interface CandidateReport {
  thumbprint: string;
  subject: string;
  issuer: string;
  notAfter: string;
  selfSigned: boolean;
  problems: CertificateProblem[];
  /** The Exchange services the certificate is bound to (empty when none, or the snap-in is absent). */
  exchangeServices: string[];
  /** Why Test-Certificate refused the chain; '' when it passed or was not run (another problem came first). */
  chainError: string;
}

export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

export function subjectCommonName(subject: string): string | null {
  const cn = subject
    .split(',')
    .map((part) => part.trim())
    .find((part) => /^CN=/i.test(part));
  return cn ? cn.slice(3).trim() : null;
}

/**
 * FQDN in the SAN list or as the subject CN, compared case-insensitively as DNS names are: what a TLS
 * client accepts (steps/Test-MonosyncConnectivity/lab.ts). The listener's own rule is stricter (cnIsHost).
 */
export function namesHost(cert: LabCertificate, fqdn: string): boolean {
  const name = fqdn.toLowerCase();
  return cnIsHost(cert, fqdn) || cert.dnsNames.some((dns) => dns.toLowerCase() === name);
}

/** The FQDN as the subject CN, compared case-insensitively as DNS names are: all WinRM binds a listener to. */
export function cnIsHost(cert: LabCertificate, fqdn: string): boolean {
  return subjectCommonName(cert.subject)?.toLowerCase() === fqdn.toLowerCase();
}

/** The FQDN in the SAN list but not as the CN (Exchange's CN=<computer name>, a CN=mail.<domain> SAN certificate). */
export function namesHostInSanOnly(cert: LabCertificate, fqdn: string): boolean {
  const name = fqdn.toLowerCase();
  return !cnIsHost(cert, fqdn) && cert.dnsNames.some((dns) => dns.toLowerCase() === name);
}

/** Issuer DNs are compared ignoring case and the spacing around `,` and `=`. */
export function normaliseDn(dn: string): string {
  return dn
    .split(',')
    .map((rdn) => rdn.trim().replace(/\s*=\s*/, '='))
    .join(',')
    .toLowerCase();
}

export function isTimeValid(cert: LabCertificate, now: Date): boolean {
  return Date.parse(cert.notBefore) <= now.getTime() && now.getTime() < Date.parse(cert.notAfter);
}

export function daysLeft(cert: LabCertificate, now: Date): number {
  return Math.floor((Date.parse(cert.notAfter) - now.getTime()) / DAY_MS);
}

/** What keeps a certificate from backing the listener, in the order Set-HttpsListener.ps1 checks it. */
export function certificateProblems(cert: LabCertificate, rules: CertificateRules): CertificateProblem[] {
  const problems: CertificateProblem[] = [];
  const now = rules.now.getTime();
  if (!cnIsHost(cert, rules.fqdn))
    problems.push(namesHostInSanOnly(cert, rules.fqdn) ? 'fqdn-only-in-san' : 'name-mismatch');
  if (!cert.hasPrivateKey) problems.push('no-private-key');
  if (!cert.serverAuth) problems.push('no-server-auth');
  if (Date.parse(cert.notBefore) > now) problems.push('not-yet-valid');
  if (Date.parse(cert.notAfter) <= now) problems.push('expired');
  else if (Date.parse(cert.notAfter) <= now + rules.minDaysLeft * DAY_MS) problems.push('too-few-days-left');
  if (cert.selfSigned) {
    // Its own issuer, so the allow-list cannot name it: the Monosync side's trust is what counts.
    if (!rules.trustedSelfSigned.includes(cert.thumbprint.toUpperCase()))
      problems.push('self-signed-not-trusted-by-monosync');
  } else if (rules.issuers.length > 0) {
    const allowed = new Set(rules.issuers.map(normaliseDn));
    if (!allowed.has(normaliseDn(cert.issuer))) problems.push('issuer-not-allowed');
  }
  if (exchangeServicesOf(cert, rules).length > 0) problems.push('bound-to-exchange');
  if (problems.length === 0 && chainErrorOf(cert, rules) !== '') problems.push('chain-untrusted');
  return problems;
}

export function exchangeServicesOf(cert: LabCertificate, rules: CertificateRules): string[] {
  return [...(rules.exchangeServices[cert.thumbprint.toUpperCase()] ?? [])];
}

/**
 * The chain check's error; only run (on Windows: Test-Certificate) for a CA-issued certificate that meets
 * every other rule: it would also fail for a wrong name or date, and a self-signed one is trusted or not
 * by the Monosync side, not by the server.
 */
function chainErrorOf(cert: LabCertificate, rules: CertificateRules): string {
  if (cert.selfSigned) return '';
  return rules.chainErrors[cert.thumbprint.toUpperCase()] ?? '';
}

export function qualifies(cert: LabCertificate, rules: CertificateRules): boolean {
  return certificateProblems(cert, rules).length === 0;
}

/**
 * Total order, best first: CA-issued before self-signed (never pick a self-signed certificate while a
 * CA-issued one qualifies), latest NotAfter, latest NotBefore, lowest thumbprint. Total so every run
 * and every host picks the same winner.
 */
export function preferenceOrder(a: LabCertificate, b: LabCertificate): number {
  if (a.selfSigned !== b.selfSigned) return a.selfSigned ? 1 : -1;
  const notAfter = Date.parse(b.notAfter) - Date.parse(a.notAfter);
  if (notAfter !== 0) return notAfter;
  const notBefore = Date.parse(b.notBefore) - Date.parse(a.notBefore);
  if (notBefore !== 0) return notBefore;
  return a.thumbprint < b.thumbprint ? -1 : a.thumbprint > b.thumbprint ? 1 : 0;
}

export function candidateReports(store: readonly LabCertificate[], rules: CertificateRules): CandidateReport[] {
  return store.map((cert) => ({
    thumbprint: cert.thumbprint,
    subject: cert.subject,
    issuer: cert.issuer,
    notAfter: cert.notAfter,
    selfSigned: cert.selfSigned,
    problems: certificateProblems(cert, rules),
    exchangeServices: exchangeServicesOf(cert, rules),
    chainError: certificateProblems(cert, rules).includes('chain-untrusted') ? chainErrorOf(cert, rules) : '',
  }));
}

export function selectCertificate(store: readonly LabCertificate[], rules: CertificateRules): LabCertificate | null {
  const qualifying = store.filter((cert) => qualifies(cert, rules)).sort(preferenceOrder);
  return qualifying[0] ?? null;
}

function certError(code: string, message: string): ScriptError {
  return { class: 'permanent', code, message, exceptionType: 'System.InvalidOperationException' };
}

const NO_APPROPRIATE_CERTIFICATE =
  'Cannot create a WinRM listener on HTTPS because this machine does not have an appropriate certificate. ' +
  'To be used for SSL, a certificate must have a CN matching the hostname, be appropriate for Server ' +
  'Authentication, and not be expired, revoked, or self-signed.';

/** Why nothing qualifies, most specific first: the operator's next action differs for each. */
export function noCertificateError(store: readonly LabCertificate[], rules: CertificateRules): ScriptError {
  const named = store.filter((cert) => cnIsHost(cert, rules.fqdn));
  if (named.length === 0) {
    const sanOnly = store.filter((cert) => namesHostInSanOnly(cert, rules.fqdn));
    if (sanOnly.length > 0) {
      return certError(
        'CertNameMismatch',
        `${NO_APPROPRIATE_CERTIFICATE} No certificate has CN=${rules.fqdn}: ` +
          `${sanOnly.map((c) => `${c.thumbprint} (${c.subject})`).join(', ')} name it only in the SAN, and WinRM ` +
          `binds a listener only when the subject CN is its Hostname (0x803380E9). Enrol a certificate with ` +
          `CN=${rules.fqdn}.`
      );
    }
    return certError('NoSuitableCertificate', `${NO_APPROPRIATE_CERTIFICATE} No certificate names ${rules.fqdn}.`);
  }
  const withKey = named.filter((cert) => cert.hasPrivateKey);
  if (withKey.length === 0) {
    return certError(
      'CertNoPrivateKey',
      `The certificate for ${rules.fqdn} in Cert:\\LocalMachine\\My has no private key (${named.map((c) => c.thumbprint).join(', ')}).`
    );
  }
  const timely = withKey.filter((cert) => {
    const problems = certificateProblems(cert, rules);
    return (
      !problems.includes('expired') && !problems.includes('too-few-days-left') && !problems.includes('not-yet-valid')
    );
  });
  if (timely.length === 0) {
    const latest = [...withKey].sort(preferenceOrder)[0];
    // A successor that names the server only in its SAN is what the operator must re-enrol: say so.
    const sanOnly = store.filter((cert) => namesHostInSanOnly(cert, rules.fqdn)).map((c) => c.thumbprint);
    return certError(
      'CertExpired',
      `Every certificate for ${rules.fqdn} has expired or has ${rules.minDaysLeft} days or fewer left ` +
        `(latest NotAfter ${latest.notAfter}).` +
        (sanOnly.length > 0
          ? ` ${sanOnly.join(', ')} name it only in the SAN, which WinRM does not bind: enrol one with CN=${rules.fqdn}.`
          : '')
    );
  }
  const reasons = candidateReports(withKey, rules)
    .map((c) => `${c.thumbprint}: ${c.problems.join(', ')}`)
    .join('; ');
  return certError('NoSuitableCertificate', `${NO_APPROPRIATE_CERTIFICATE} Rejected: ${reasons}.`);
}

/** The pinned certificate must still meet every rule; null when it does. */
export function pinnedCertificateError(
  cert: LabCertificate | undefined,
  thumbprint: string,
  rules: CertificateRules
): ScriptError | null {
  if (!cert) {
    return certError('NoSuitableCertificate', `The certificate ${thumbprint} is not in Cert:\\LocalMachine\\My.`);
  }
  const problems = certificateProblems(cert, rules);
  if (problems.length === 0) return null;
  if (problems.includes('name-mismatch') || problems.includes('fqdn-only-in-san')) {
    return certError(
      'CertNameMismatch',
      `The certificate CN and the hostname that were provided do not match: ${thumbprint} (${cert.subject}) is not CN=${rules.fqdn}.`
    );
  }
  if (problems.includes('no-private-key')) {
    return certError('CertNoPrivateKey', `The certificate ${thumbprint} has no private key.`);
  }
  if (problems.some((p) => p === 'expired' || p === 'too-few-days-left' || p === 'not-yet-valid')) {
    return certError(
      'CertExpired',
      `The certificate ${thumbprint} is not valid for ${rules.minDaysLeft} more days (NotAfter ${cert.notAfter}).`
    );
  }
  return certError('NoSuitableCertificate', `The certificate ${thumbprint} is not suitable: ${problems.join(', ')}.`);
}

/** The HTTP.sys application ID WinRM registers its HTTPS listeners' SSL bindings under. */
export const WINRM_APP_ID = '{afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f}';
