/**
 * Certificate facts and the deterministic selection rule of the reference (§3.6): which certificates
 * in LocalMachine\My may back the WinRM HTTPS listener, which one wins, and — when none does — the
 * most specific reason, so the operator is told what to enrol or fix.
 */
import type { ScriptError } from '../domain/envelope';
import { thumbprintFor } from './identity';
import type { LabCertificate } from './model';

export const DAY_MS = 86_400_000;
export const SELF_SIGNED_VALIDITY_DAYS = 365;

export interface CertificateRules {
  fqdn: string;
  now: Date;
  minDaysLeft: number;
  /** Issuer DNs allowed; empty = any issuer. */
  issuers: readonly string[];
  allowSelfSigned: boolean;
}

export type CertificateProblem =
  | 'name-mismatch'
  | 'no-private-key'
  | 'no-server-auth'
  | 'not-yet-valid'
  | 'expired'
  | 'too-few-days-left'
  | 'issuer-not-allowed'
  | 'self-signed-not-allowed';

export interface CandidateReport {
  thumbprint: string;
  subject: string;
  issuer: string;
  notAfter: string;
  selfSigned: boolean;
  problems: CertificateProblem[];
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

/** FQDN in the SAN list or as the subject CN, compared case-insensitively as DNS names are. */
export function namesHost(cert: LabCertificate, fqdn: string): boolean {
  const name = fqdn.toLowerCase();
  return (
    cert.dnsNames.some((dns) => dns.toLowerCase() === name) || subjectCommonName(cert.subject)?.toLowerCase() === name
  );
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

export function certificateProblems(cert: LabCertificate, rules: CertificateRules): CertificateProblem[] {
  const problems: CertificateProblem[] = [];
  const now = rules.now.getTime();
  if (!namesHost(cert, rules.fqdn)) problems.push('name-mismatch');
  if (!cert.hasPrivateKey) problems.push('no-private-key');
  if (!cert.serverAuth) problems.push('no-server-auth');
  if (Date.parse(cert.notBefore) > now) problems.push('not-yet-valid');
  if (Date.parse(cert.notAfter) <= now) problems.push('expired');
  else if (Date.parse(cert.notAfter) <= now + rules.minDaysLeft * DAY_MS) problems.push('too-few-days-left');
  if (cert.selfSigned) {
    // An explicitly allowed self-signed certificate is its own issuer, so the allow-list cannot name it.
    if (!rules.allowSelfSigned) problems.push('self-signed-not-allowed');
  } else if (rules.issuers.length > 0) {
    const allowed = new Set(rules.issuers.map(normaliseDn));
    if (!allowed.has(normaliseDn(cert.issuer))) problems.push('issuer-not-allowed');
  }
  return problems;
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
  const named = store.filter((cert) => namesHost(cert, rules.fqdn));
  if (named.length === 0) {
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
    return certError(
      'CertExpired',
      `Every certificate for ${rules.fqdn} has expired or has ${rules.minDaysLeft} days or fewer left ` +
        `(latest NotAfter ${latest.notAfter}).`
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
  if (problems.includes('name-mismatch')) {
    return certError(
      'CertNameMismatch',
      `The certificate CN and the hostname that were provided do not match: ${thumbprint} (${cert.subject}) does not name ${rules.fqdn}.`
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

/**
 * What New-SelfSignedCertificate would create. The thumbprint and validity depend on the FQDN and the
 * day only, so a plan and the apply that follows it name the same certificate.
 */
export function selfSignedCertificate(fqdn: string, now: Date): LabCertificate {
  const notBefore = startOfUtcDay(now);
  return {
    thumbprint: thumbprintFor(`self-signed|${fqdn}|${notBefore.toISOString()}`),
    subject: `CN=${fqdn}`,
    issuer: `CN=${fqdn}`,
    dnsNames: [fqdn],
    notBefore: notBefore.toISOString(),
    notAfter: addDays(notBefore, SELF_SIGNED_VALIDITY_DAYS).toISOString(),
    hasPrivateKey: true,
    serverAuth: true,
    selfSigned: true,
  };
}
