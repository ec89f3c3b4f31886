/**
 * Names and identifiers the lab derives instead of storing a directory: SIDs, GUIDs, thumbprints and
 * DNs are stable functions of the names, so two processes loading the same estate agree on them.
 */
import { createHash } from 'node:crypto';

export const REMOTE_MANAGEMENT_USERS_SID = 'S-1-5-32-580';

function digest(text: string): Buffer {
  return createHash('sha1').update(text).digest();
}

/** SHA-1 hex, upper case: the shape of a certificate thumbprint. */
export function thumbprintFor(seed: string): string {
  return digest(seed).toString('hex').toUpperCase();
}

export function guidFor(seed: string): string {
  const hex = digest(seed).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `CORP\monosync_svc` and `monosync_svc@corp.example` are the same account; Windows compares the
 * SID, so the lab keys members by a SID derived from the down-level form.
 */
export function downLevelName(account: string): string {
  const trimmed = account.trim();
  if (trimmed.includes('\\')) {
    const [domain, user] = trimmed.split('\\');
    return `${domain.toUpperCase()}\\${user}`;
  }
  const [user, dnsDomain] = trimmed.split('@');
  return `${(dnsDomain ?? '').split('.')[0].toUpperCase()}\\${user}`;
}

export function accountSid(account: string): string {
  const name = downLevelName(account);
  const [domain, user] = name.split('\\');
  const d = digest(`domain|${domain}`);
  const rid = 1100 + (digest(`user|${user.toLowerCase()}`).readUInt32BE(0) % 900_000);
  return `S-1-5-21-${d.readUInt32BE(0)}-${d.readUInt32BE(4)}-${d.readUInt32BE(8)}-${rid}`;
}

export function dnsDomainOf(fqdn: string): string {
  return fqdn.split('.').slice(1).join('.');
}

export function domainComponents(dnsDomain: string): string {
  return dnsDomain
    .split('.')
    .map((label) => `DC=${label}`)
    .join(',');
}

export function normaliseFqdn(fqdn: string): string {
  return fqdn.trim().toLowerCase().replace(/\.$/, '');
}

/** Protected Users has RID 525 in every domain: the group's SID in the domain of an account's SID. */
export function protectedUsersSid(accountSidInDomain: string): string {
  return `${accountSidInDomain.slice(0, accountSidInDomain.lastIndexOf('-'))}-525`;
}
