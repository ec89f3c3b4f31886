/**
 * The fleet file: its schema, defaults and the normalised `FleetSpec` the workflows receive.
 * Defaults follow the vendor's manual; the manual's risky values are allowed but gated by approval
 * (see risk.ts). Secrets never appear here: credentials are read by workers from their environment.
 */
import type { z } from 'zod';
import { lazySchema } from './lazy-schema';
import { DEFAULT_STEP_RETRY_MAXIMUM_INTERVAL } from './failures';
import { formatIssues } from './issues';
import { parsePublicKey, type SignaturePolicy } from './signatures';
import {
  accountSchema,
  computerNameSchema,
  durationSchema,
  fqdnSchema,
  freeTextSchema,
  ipAddressSchema,
  personSchema,
  thumbprintSchema,
  trustedHostEntrySchema,
} from './validators';

/**
 * The fleet workflow carries every server across continue-as-new in one payload, which Temporal
 * refuses above 2 MB; the rest of its input and the fleet's decisions need the margin.
 */
export const MAX_SERVER_LIST_BYTES = 1_500_000;

/**
 * The most bytes the server list can take in the fleet workflow's input: each server in the spec,
 * its phase, and (when every server is in flight at once) its place in the in-flight list and run id.
 */
export function serverListBytes(servers: Array<{ fqdn: string; computerName?: string }>): number {
  const perServer =
    '{"fqdn":"","computerName":""},"":"awaiting-operator","","":"01234567-89ab-cdef-0123-456789abcdef",';
  return servers.reduce(
    (sum, s) => sum + perServer.length + 4 * s.fqdn.length + (s.computerName ?? s.fqdn.split('.')[0]).length,
    0
  );
}

export const DEFAULT_SERVER_CHECK_INTERVAL = 10 * 60_000;
/**
 * Servers per batch of a large fleet (settings.batchSize): about 2,700 history events each (9 per server,
 * its reports), inside the 3,000 default budget and well inside Temporal's 4,096 warning.
 */
export const DEFAULT_BATCH_SIZE = 300;

const FLEET_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const CBT_LEVELS = ['None', 'Relaxed', 'Strict'] as const;

// A bare string is shorthand for `{ fqdn: ... }`; normalising first keeps error paths as `servers[2].fqdn`.
const serverSchema = lazySchema((z) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? { fqdn: v } : v),
    z.strictObject({
      fqdn: fqdnSchema,
      computerName: computerNameSchema.optional(),
    })
  )
);

const trustedHostsSchema = lazySchema((z) =>
  z.strictObject({
    /**
     * Where TrustedHosts is written. Default `skip`: TrustedHosts is a WinRM *client* setting, so on the
     * Exchange servers (the manual's `exchange`) it does nothing for inbound Monosync connections and only
     * weakens the servers' own outbound NTLM checks; over Kerberos by FQDN no side needs it. `monosync`
     * writes it on the worker, the client, where it has effect.
     */
    applyOn: z.enum(['exchange', 'monosync', 'skip']).default('skip'),
    /**
     * `any` = '*' (the manual; needs approval), `domain` = '*.<domain>', `monosync-servers` = the listed
     * Monosync addresses, `this-server` = the Exchange server's own FQDN (what the Monosync side needs, and
     * the default: a value nobody chose is never a wildcard), or an explicit list.
     */
    value: z
      .union([z.enum(['any', 'domain', 'monosync-servers', 'this-server']), z.array(trustedHostEntrySchema).min(1)])
      .default('this-server'),
  })
);

/** The Windows Firewall profiles a rule can apply to. */
export const FIREWALL_PROFILES = ['Domain', 'Private', 'Public'] as const;

const certificateSchema = lazySchema((z) =>
  z
    .strictObject({
      /** Rotate or replace a listener certificate with fewer days left than this. */
      renewBeforeDays: z.number().int().min(1).max(365).default(30),
      /** Only certificates from these issuers (subject DN of the issuing CA) are chosen; empty = any issuer. */
      issuers: z.array(z.string().min(3).max(400)).default([]),
      /**
       * Bind a self-signed certificate that is already in the server's store, but only one listed in
       * trustedSelfSigned. Needs approval for every server. A self-signed certificate is never created:
       * the Monosync servers could not trust one that does not exist yet, so its handshake would fail.
       */
      allowSelfSigned: z.boolean().default(false),
      /**
       * The self-signed certificates (thumbprints) the Monosync servers already trust, imported into their
       * Trusted Root Certification Authorities store: the only self-signed ones a listener may use.
       */
      trustedSelfSigned: z.array(thumbprintSchema).default([]),
      /** Pin the listener to this certificate instead of choosing one. */
      thumbprint: thumbprintSchema.optional(),
    })
    .superRefine((c, ctx) => {
      if (c.allowSelfSigned && c.trustedSelfSigned.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['allowSelfSigned'],
          message:
            'a self-signed certificate works only if the Monosync servers already trust it: import it into their ' +
            'Trusted Root Certification Authorities store and list its thumbprint in policy.certificate.trustedSelfSigned, ' +
            'or enrol a CA-issued certificate and set allowSelfSigned: false',
        });
      }
      if (!c.allowSelfSigned && c.trustedSelfSigned.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['trustedSelfSigned'],
          message:
            'lists self-signed certificates but allowSelfSigned is false: set allowSelfSigned: true to use them (each needs approval), or remove the list',
        });
      }
    })
);

const policySchema = lazySchema((z) =>
  z.strictObject({
    /** `unconstrained` = TrustedForDelegation (the manual; risky, needs approval); `skip` leaves AD alone. */
    delegation: z.enum(['unconstrained', 'skip']).default('unconstrained'),
    /**
     * Default Relaxed (Windows' own default, which already admits clients that send no channel-binding
     * token). The manual's None also accepts a wrong token, removing NTLM-relay protection on HTTPS: only
     * when the fleet file asks for it, and then behind approval.
     */
    cbtHardeningLevel: z.enum(CBT_LEVELS).default('Relaxed'),
    trustedHosts: trustedHostsSchema.default({ applyOn: 'skip', value: 'this-server' }),
    certificate: certificateSchema.default({
      renewBeforeDays: 30,
      issuers: [],
      allowSelfSigned: false,
      trustedSelfSigned: [],
    }),
    firewall: z
      .strictObject({
        /** `monosync` = only the listed Monosync addresses; `any` opens the ports to everyone (risky). */
        sources: z.enum(['monosync', 'any']).default('monosync'),
        ports: z
          .array(z.union([z.literal(5985), z.literal(5986)]))
          .min(1)
          .default([5985, 5986]),
        /**
         * The profiles the rule applies to. Domain-joined Exchange servers talk to Monosync on the Domain
         * profile; a rule for every profile would also open WinRM on a network the server does not trust.
         */
        profiles: z
          .array(z.enum(FIREWALL_PROFILES))
          .min(1)
          .refine((p) => new Set(p).size === p.length, { error: 'list each profile once' })
          .default(['Domain']),
      })
      .default({ sources: 'monosync', ports: [5985, 5986], profiles: ['Domain'] }),
  })
);

const settingsSchema = lazySchema((z) =>
  z.strictObject({
    /** Servers onboarded at the same time. */
    maxParallel: z.number().int().min(1).max(500).default(32),
    /** Stop starting new servers once more than this share (percent) has failed. */
    maxFailurePercent: z.number().min(0).max(100).default(20),
    /** How long a risky change waits for a decision before it counts as rejected. */
    approvalTimeout: durationSchema.default(72 * 3_600_000),
    /**
     * Continue-as-new once a fleet-wide workflow's history reaches this many events. A worker that lost
     * the run from its cache replays the whole run inside one workflow task (10 s timeout): about 2 s
     * for 3,000 events (1.3 s for 2,000, 3 s for 4,100). Each continue-as-new costs more: the next run
     * signals every server it inherits, and the run's end is redone (a replay each time) while servers'
     * reports keep arriving, starting nothing meanwhile; 3,000 makes N = 1,000 two runs instead of four.
     * The onboarding fleet also finishes in the run when the rest fits a quarter past this budget.
     */
    historyEventBudget: z.number().int().min(200).max(9_000).default(3_000),
    /**
     * A fleet of more servers runs as batches of at most this many, side by side, each a workflow of its
     * own under the fleet's, sharing `maxParallel` between them (domain/batches.ts). A batch's run ends only
     * after its last server, so no run ends while servers report to it: each such end races the reports,
     * and one refused costs a replay of the whole run (seconds at thousands of events). A batch takes
     * about 9 history events per server (each child event is a workflow task of its own in a batch's
     * few slots): keep it under `historyEventBudget` / 10, or its run continues as new.
     */
    batchSize: z.number().int().min(10).max(1_500).default(DEFAULT_BATCH_SIZE),
    /**
     * How often the fleet asks Temporal about servers an earlier run of it started (it has no handle on
     * them after continue-as-new), so a server workflow terminated by hand frees its slot.
     */
    serverCheckInterval: durationSchema
      .refine((ms) => ms >= 1_000, { error: 'must be at least 1s (each check is an activity in the fleet history)' })
      .default(DEFAULT_SERVER_CHECK_INTERVAL),
    /**
     * Retries of transient failures (WinRM restarting, timeouts): the first wait, doubling up to
     * `maximumInterval`. Against an outage the 2-minute default spares the servers; against scattered
     * faults it makes the unluckiest server's chain of retries the fleet's tail (6 failures in a row wait
     * 63 s from a 1 s start), which a lower ceiling shortens.
     */
    stepRetry: z
      .strictObject({
        initialInterval: durationSchema.default(5_000),
        maximumInterval: durationSchema.default(DEFAULT_STEP_RETRY_MAXIMUM_INTERVAL),
        maximumAttempts: z.number().int().min(1).max(50).default(8),
      })
      .refine((r) => r.maximumInterval >= r.initialInterval, {
        error: 'maximumInterval must be at least initialInterval (retries wait longer each time, up to it)',
        path: ['maximumInterval'],
      })
      .default({ initialInterval: 5_000, maximumInterval: DEFAULT_STEP_RETRY_MAXIMUM_INTERVAL, maximumAttempts: 8 }),
  })
);

const fleetFileSchema = lazySchema((z) =>
  z
    .strictObject({
      fleet: z.string().refine((v) => FLEET_ID_RE.test(v), {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not a fleet id: lower-case letters, digits and '-', at most 63 characters`,
      }),
      description: freeTextSchema(500).optional(),
      /** The account Monosync uses afterwards (`monosync_svc`); it becomes a member of Remote Management Users. */
      serviceAccount: accountSchema,
      /** The AD domain's DNS name; used for the domain wildcard of TrustedHosts. Defaults to the servers' common suffix. */
      domain: fqdnSchema.optional(),
      /** Domain controller that takes (and is read back for) the delegation change. */
      domainController: fqdnSchema.optional(),
      monosyncServers: z.array(ipAddressSchema).min(1, { error: 'list at least one Monosync server address' }),
      /** `alice`, or `{ name: alice, key: "ssh-ed25519 AAAA..." }`: the key verifies alice's signed decisions. */
      approvers: z
        .array(z.union([personSchema, z.strictObject({ name: personSchema, key: z.string().max(2000) })]))
        .min(1, { error: 'name at least one approver for risky changes' }),
      /**
       * Who may start the fleet besides the approvers: `{ name: carol, key: "ssh-ed25519 AAAA..." }`. In a
       * signed fleet the requester proves who they are with this key (or their approver key).
       */
      requesters: z
        .array(z.union([personSchema, z.strictObject({ name: personSchema, key: z.string().max(2000) })]))
        .optional(),
      /** `signed` (default): every decision carries its approver's signature. `unsigned`: a lab, and says so. */
      approvals: z.enum(['signed', 'unsigned']).default('signed'),
      policy: policySchema.default(policySchema.parse({})),
      settings: settingsSchema.default(settingsSchema.parse({})),
      servers: z.array(serverSchema).min(1, { error: 'list at least one Exchange server' }),
    })
    .superRefine((file, ctx) => {
      const seen = new Map<string, number>();
      file.servers.forEach((s, i) => {
        const first = seen.get(s.fqdn);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['servers', i, 'fqdn'],
            message: `"${s.fqdn}" is listed twice (also servers[${first}]): list each server once`,
          });
        } else seen.set(s.fqdn, i);
      });
      const bytes = serverListBytes(file.servers);
      if (bytes > MAX_SERVER_LIST_BYTES) {
        ctx.addIssue({
          code: 'custom',
          path: ['servers'],
          message: `${file.servers.length.toLocaleString('en-US')} servers make ${(bytes / 1e6).toFixed(1)} MB of workflow input, more than the ${MAX_SERVER_LIST_BYTES / 1e6} MB one fleet can carry (Temporal's payload limit is 2 MB): split the servers over several fleet files`,
        });
      }
      const domain = file.domain ?? commonSuffix(file.servers.map((s) => s.fqdn));
      if (file.policy.trustedHosts.value === 'domain' && !domain) {
        ctx.addIssue({
          code: 'custom',
          path: ['domain'],
          message: 'trustedHosts value "domain" needs the domain: set domain: corp.example',
        });
      }
    })
);

type FleetPolicy = z.output<typeof policySchema>;
type FleetSettings = z.output<typeof settingsSchema>;

export interface ServerSpec {
  fqdn: string;
  /** NetBIOS name; the AD computer object is `<computerName>$`. */
  computerName: string;
}

/** What the workflows receive: normalised, defaults filled in, nothing secret. */
export interface FleetSpec {
  fleetId: string;
  description?: string;
  serviceAccount: string;
  domain?: string;
  domainController?: string;
  monosyncServers: string[];
  approvers: string[];
  /** Whether decisions must be signed; absent in specs recorded before signing (then unsigned). */
  approvals: 'signed' | 'unsigned';
  /** Approver → raw Ed25519 public key in base64 (those given a key in the fleet file). */
  approverKeys: Record<string, string>;
  /**
   * Requester (not an approver) → raw Ed25519 public key in base64; with approverKeys, the people who
   * may start a signed fleet. Absent in specs recorded before requests were signed.
   */
  requesterKeys?: Record<string, string>;
  policy: FleetPolicy;
  settings: FleetSettings;
  servers: ServerSpec[];
}

/** Longest common DNS suffix of the servers (at least two labels), e.g. corp.example. */
function commonSuffix(fqdns: string[]): string | undefined {
  if (fqdns.length === 0) return undefined;
  const split = fqdns.map((f) => f.split('.').reverse());
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const label = split[0][i];
    if (label === undefined || split.some((s) => s[i] !== label || s.length <= i + 1)) break;
    out.push(label);
  }
  return out.length >= 2 ? out.reverse().join('.') : undefined;
}

export function defaultComputerName(fqdn: string): string {
  return fqdn.split('.')[0].toUpperCase().slice(0, 15);
}

type FleetValidation = { ok: true; spec: FleetSpec } | { ok: false; problems: string[] };

/** Validate a parsed fleet document; every problem is reported as `path: message`. */
export function validateFleet(document: unknown): FleetValidation {
  const parsed = fleetFileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const f = parsed.data;
  const problems: string[] = [];
  const servers = f.servers.map((s, i) => {
    const computerName = ('computerName' in s && s.computerName) || defaultComputerName(s.fqdn);
    const check = computerNameSchema.safeParse(computerName);
    if (!check.success) {
      problems.push(
        `servers[${i}].computerName: the first label of ${s.fqdn} is not a valid computer name; set computerName explicitly`
      );
    }
    return { fqdn: s.fqdn, computerName: check.success ? check.data : computerName };
  });
  // A NetBIOS name keeps only the first 15 characters of the host name, so exchange-mailbox-01 and
  // exchange-mailbox-02 both default to EXCHANGE-MAILBO: two servers on one computer object NAME$ would
  // have delegation set on one of them (or on a third host) for both.
  const firstWithName = new Map<string, number>();
  servers.forEach((s, i) => {
    const first = firstWithName.get(s.computerName);
    if (first === undefined) {
      firstWithName.set(s.computerName, i);
      return;
    }
    problems.push(
      `servers[${i}].computerName: ${s.fqdn} and ${servers[first].fqdn} (servers[${first}]) both map to the computer object ${s.computerName}$ (a computer name keeps the first 15 characters of the host name): set computerName: for each of them to its own sAMAccountName without the $`
    );
  });
  const approverKeys: Record<string, string> = {};
  const approverNames = f.approvers.map((a, i) => {
    if (typeof a === 'string') {
      if (f.approvals === 'signed') {
        problems.push(
          `approvers[${i}]: ${a} has no key, and this fleet's approvals are signed: write { name: ${a}, key: "ssh-ed25519 AAAA..." }, or say approvals: unsigned (a lab only)`
        );
      }
      return a;
    }
    const key = parsePublicKey(a.key);
    if (key.ok) approverKeys[a.name] = key.key;
    else problems.push(`approvers[${i}].key: ${key.problem}`);
    return a.name;
  });
  const requesterKeys: Record<string, string> = {};
  (f.requesters ?? []).forEach((r, i) => {
    if (typeof r === 'string') {
      if (f.approvals === 'signed') {
        problems.push(
          `requesters[${i}]: ${r} has no key, and this fleet's approvals are signed: write { name: ${r}, key: "ssh-ed25519 AAAA..." }`
        );
      }
      return;
    }
    const key = parsePublicKey(r.key);
    if (!key.ok) problems.push(`requesters[${i}].key: ${key.problem}`);
    else if (approverKeys[r.name] !== undefined && approverKeys[r.name] !== key.key) {
      problems.push(`requesters[${i}].key: ${r.name} is also an approver with another key: give one person one key`);
    } else requesterKeys[r.name] = key.key;
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      fleetId: f.fleet,
      description: f.description,
      serviceAccount: f.serviceAccount,
      domain: f.domain ?? commonSuffix(servers.map((s) => s.fqdn)),
      domainController: f.domainController,
      monosyncServers: [...new Set(f.monosyncServers)],
      approvers: [...new Set(approverNames)],
      approvals: f.approvals,
      approverKeys,
      requesterKeys,
      policy: f.policy,
      settings: f.settings,
      servers,
    },
  };
}

/** The concrete TrustedHosts entries the policy asks for on behalf of one server. */
export function trustedHostsEntries(
  spec: Pick<FleetSpec, 'policy' | 'domain' | 'monosyncServers'>,
  server: Pick<ServerSpec, 'fqdn'>
): string[] {
  const v = spec.policy.trustedHosts.value;
  if (v === 'any') return ['*'];
  if (v === 'domain') return [`*.${spec.domain}`];
  if (v === 'monosync-servers') return [...spec.monosyncServers];
  if (v === 'this-server') return [server.fqdn];
  return v;
}

/** How the workflows of this fleet check decisions (specs recorded before signing count as unsigned). */
export function signingPolicyOf(
  spec: Pick<FleetSpec, 'fleetId'> & Partial<Pick<FleetSpec, 'approvals' | 'approverKeys'>>
): SignaturePolicy {
  return { approvals: spec.approvals ?? 'unsigned', fleetId: spec.fleetId, keys: spec.approverKeys ?? {} };
}
