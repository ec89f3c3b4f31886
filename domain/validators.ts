/**
 * Validation of every value that can reach PowerShell or a workflow. Patterns follow
 * `exchange-onboarding-steps.md` §2.6: normalise first, then accept a conservative subset.
 * Pure and deterministic: imported by workflows, activities, the CLI and the lab.
 */
import { lazySchema, zod } from './lazy-schema';

const FQDN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NETBIOS_RE = /^(?!\d+$)[A-Z0-9](?:[A-Z0-9-]{0,13}[A-Z0-9])?$/;
const USER_RE = /^(?!.*\.$)[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/;
const DOMAIN_LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/;
const THUMBPRINT_RE = /^[0-9A-F]{40}$/;
const PERSON_RE = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4(v: string): boolean {
  return IPV4_RE.test(v);
}

/** IPv6 in the forms WinRM and the firewall accept; kept simple and strict. */
function isIPv6(v: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(v) || !v.includes(':')) return false;
  const double = v.split('::');
  if (double.length > 2) return false;
  const groups = v.split(':').filter((g) => g !== '');
  if (groups.some((g) => g.length > 4)) return false;
  return double.length === 2 ? groups.length < 8 : groups.length === 8;
}

function isIpAddress(v: string): boolean {
  return isIPv4(v) || isIPv6(v);
}

export const fqdnSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim().toLowerCase().replace(/\.$/, ''))
    .refine((v) => FQDN_RE.test(v) && !isIpAddress(v) && !/^\d+$/.test(v.split('.').pop() ?? ''), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a DNS name: use the server's fully qualified name, e.g. exch01.corp.example`,
    })
);

export const computerNameSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim().toUpperCase())
    .refine((v) => NETBIOS_RE.test(v), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a computer name: 1-15 letters, digits or '-', not only digits`,
    })
);

/** `DOMAIN\user` or `user@dns.domain`; the form Windows resolves to one SID. */
export const accountSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim())
    .refine(
      (v) => {
        const downLevel = v.split('\\');
        if (downLevel.length === 2) return DOMAIN_LABEL_RE.test(downLevel[0]) && USER_RE.test(downLevel[1]);
        const upn = v.split('@');
        if (upn.length === 2) return USER_RE.test(upn[0]) && FQDN_RE.test(upn[1].toLowerCase());
        return false;
      },
      {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not an account name: write DOMAIN\\user (e.g. CORP\\monosync_svc) or user@corp.example`,
      }
    )
);

export const ipAddressSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim())
    .refine(isIpAddress, {
      error: (issue) => `${JSON.stringify(issue.input)} is not an IP address (IPv4 like 10.0.0.5 or IPv6)`,
    })
);

export const thumbprintSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.replace(/[\s\u200E\u200F\uFEFF]/g, '').toUpperCase())
    .refine((v) => THUMBPRINT_RE.test(v), {
      error: (issue) => `${JSON.stringify(issue.input)} is not a certificate thumbprint (40 hex digits)`,
    })
);

/** The form people are compared in: trimmed, lower case (what personSchema makes of a valid id). */
export function normalisePerson(person: string): string {
  return person.trim().toLowerCase();
}

/** A person's id as used for requesters and approvers (login name or e-mail). */
export const personSchema = lazySchema((z) =>
  z
    .string()
    .transform(normalisePerson)
    .refine((v) => PERSON_RE.test(v), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a person id: use a login name or e-mail (letters, digits, . _ @ -)`,
    })
);

/** Free text (reasons, notes): never sent to PowerShell, still kept printable and short. */
export const reasonSchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim())
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000-\u0008\u000B-\u001F\u007F]/.test(v), {
      error: 'contains control characters: write the reason as plain text',
    })
    .refine((v) => v.length >= 3 && v.length <= 500, { error: 'must be 3 to 500 characters long' })
);

/** A TrustedHosts entry: a name, an IP address, or a pattern with at most one `*`. No CIDR. */
export const trustedHostEntrySchema = lazySchema((z) =>
  z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .refine(
      (v) => {
        if (v === '*' || v === '<local>') return true;
        if (isIpAddress(v)) return true;
        if ((v.match(/\*/g) ?? []).length > 1) return false;
        const name = v.startsWith('*.') ? v.slice(2) : v;
        return FQDN_RE.test(name) || NETBIOS_RE.test(name.toUpperCase());
      },
      {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not a TrustedHosts entry: use a host name, an IP address, '*.domain' or '*'`,
      }
    )
);

/** `12h`, `3d`, `90m`, `45s` → milliseconds (Temporal accepts a number of ms everywhere). */
export const durationSchema = lazySchema((z) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration: write e.g. 72h, 30m, 10s` });
        return z.NEVER;
      }
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
      return Math.round(Number(m[1]) * unit);
    })
    .refine((ms) => ms > 0, { error: 'must be longer than zero' })
);

/**
 * Characters that make free text misbehave where it is shown: C0/C1 controls (NUL, CR, LF, ESC for
 * terminal escapes), line and paragraph separators, and bidirectional overrides that reorder text.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT_RE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069]+/g;

/** Free text as one clean line: unsafe characters (see UNSAFE_TEXT_RE) become a space, runs of blanks one. */
export function cleanText(text: string): string {
  return text.replace(UNSAFE_TEXT_RE, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Free text people write in a fleet file (the description): cleaned rather than refused, because a
 * multi-line YAML block is a fair way to write it; escaped again wherever it is rendered as Markdown.
 */
export function freeTextSchema(maxChars: number) {
  return zod()
    .string()
    .transform(cleanText)
    .refine((v) => v.length <= maxChars, { error: `must be at most ${maxChars} characters long` });
}
