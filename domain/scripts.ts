/**
 * The call contract of each PowerShell script: its parameters (validated again here, right before
 * anything reaches PowerShell) and the host it runs on. Both runners (node-powershell and the lab)
 * accept exactly these calls.
 */
import { z } from 'zod';
import { CBT_LEVELS } from './fleet';
import type { ScriptMode, ScriptName } from './steps';
import {
  accountSchema,
  computerNameSchema,
  fqdnSchema,
  ipAddressSchema,
  thumbprintSchema,
  trustedHostEntrySchema,
} from './validators';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Where a script runs: remotely on an Exchange server, on the AD management host, or on the worker. */
export type ScriptTarget =
  | { host: 'exchange'; fqdn: string }
  | { host: 'ad'; domainController?: string }
  | { host: 'worker'; onBehalfOf: string };

export interface ScriptCall {
  script: ScriptName;
  mode: ScriptMode;
  params: Record<string, JsonValue>;
  target: ScriptTarget;
  /** The step's `before`, for rollback mode. */
  rollbackTo?: JsonValue;
}

/** An issuer DN from the allow-list: printable, no PowerShell quote or escape characters. */
const issuerSchema = z
  .string()
  .min(3)
  .max(400)
  // eslint-disable-next-line no-control-regex
  .refine((v) => !/['"`$;|&\u2018-\u201E\u0000-\u001F\u007F]/.test(v), {
    error: 'contains a quote, $, ;, |, &, a line break or a control character: write the issuer DN as plain text',
  });

export const SCRIPT_PARAM_SCHEMAS = {
  'Get-OnboardingSnapshot': z.strictObject({ Fqdn: fqdnSchema, ServiceAccount: accountSchema }),
  'Grant-RemoteManagement': z.strictObject({ Member: accountSchema }),
  'Enable-KerberosDelegation': z.strictObject({
    ComputerName: computerNameSchema,
    DomainController: fqdnSchema.optional(),
    TrustedForDelegation: z.boolean(),
  }),
  'Enable-Remoting': z.strictObject({}),
  'Set-HttpsListener': z.strictObject({
    Fqdn: fqdnSchema,
    MinDaysLeft: z.number().int().min(1).max(365),
    Issuers: z.array(issuerSchema),
    AllowSelfSigned: z.boolean(),
    Thumbprint: thumbprintSchema.optional(),
  }),
  'Set-CbtHardening': z.strictObject({ Level: z.enum(CBT_LEVELS) }),
  'Set-TrustedHosts': z.strictObject({ Entries: z.array(trustedHostEntrySchema).min(1) }),
  'Set-MonosyncFirewallRule': z.strictObject({
    RuleName: z.literal('Monosync-WinRM-In'),
    Ports: z.array(z.union([z.literal(5985), z.literal(5986)])).min(1),
    RemoteAddresses: z.union([z.tuple([z.literal('Any')]), z.array(ipAddressSchema).min(1)]),
  }),
  'Test-MonosyncConnectivity': z.strictObject({
    Fqdn: fqdnSchema,
    ServiceAccount: accountSchema,
    CheckSecondHop: z.boolean(),
  }),
} as const satisfies Record<ScriptName, z.ZodType>;

export type ScriptParams<S extends ScriptName> = z.output<(typeof SCRIPT_PARAM_SCHEMAS)[S]>;
