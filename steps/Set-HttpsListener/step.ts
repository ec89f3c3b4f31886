/**
 * Manual steps 3.2-3.3.1: a WinRM HTTPS listener bound to a suitable certificate, created or moved to
 * a fresher one (also what the monthly rotation runs). A self-signed certificate is used only when the
 * Monosync servers already trust it (the fleet lists it), and waits for approval; none is ever created.
 */
import type { z } from 'zod';
import { lazySchema } from '../../domain/lazy-schema';
import { fqdnSchema, thumbprintSchema } from '../../domain/validators';
import { tlsHandshakeProbe } from '../Test-MonosyncConnectivity/step';
import { defineStep } from '../step-module';

const isoDate = lazySchema((z) =>
  z.string().refine((v) => !Number.isNaN(Date.parse(v)), { error: 'must be an ISO 8601 date' })
);

export const certificateInfoSchema = lazySchema((z) =>
  z.object({
    thumbprint: z.string(),
    subject: z.string(),
    issuer: z.string(),
    dnsNames: z.array(z.string()),
    notBefore: isoDate,
    notAfter: isoDate,
    hasPrivateKey: z.boolean(),
    serverAuth: z.boolean(),
    selfSigned: z.boolean(),
  })
);
export type CertificateInfo = z.infer<typeof certificateInfoSchema>;

export const listenerStateSchema = lazySchema((z) =>
  z.object({
    listener: z.object({ port: z.number(), hostname: z.string(), thumbprint: z.string() }).nullable(),
    certificate: certificateInfoSchema.nullable(),
  })
);

/** An issuer DN from the allow-list: printable, no PowerShell quote or escape characters. */
const issuerSchema = lazySchema((z) =>
  z
    .string()
    .min(3)
    .max(400)
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/['"`$;|&\u2018-\u201E\u0000-\u001F\u007F]/.test(v), {
      error: 'contains a quote, $, ;, |, &, a line break or a control character: write the issuer DN as plain text',
    })
);

export const step = defineStep({
  definition: {
    id: 'ensureHttpsListener',
    title: 'WinRM HTTPS listener and certificate',
    short: 'https',
    manual: '3.2-3.3.1',
    script: 'Set-HttpsListener',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: true,
  },
  state: listenerStateSchema,
  params: lazySchema((z) =>
    z.strictObject({
      Fqdn: fqdnSchema,
      MinDaysLeft: z.number().int().min(1).max(365),
      Issuers: z.array(issuerSchema),
      /** The self-signed certificates the Monosync side trusts; empty = no self-signed certificate qualifies. */
      TrustedSelfSigned: z.array(thumbprintSchema),
      Thumbprint: thumbprintSchema.optional(),
    })
  ),
  paramsFor: (server, { policy }) => ({
    Fqdn: server.fqdn,
    MinDaysLeft: policy.certificate.renewBeforeDays,
    Issuers: policy.certificate.issuers,
    TrustedSelfSigned: policy.certificate.allowSelfSigned ? policy.certificate.trustedSelfSigned : [],
    ...(policy.certificate.thumbprint ? { Thumbprint: policy.certificate.thumbprint } : {}),
  }),
  risk: {
    rule: {
      kind: 'self-signed-certificate',
      title: 'Self-signed listener certificate',
      reason:
        'Only the Monosync servers that imported this very certificate can validate it, and nothing renews ' +
        'it: when it expires or the server is rebuilt, Monosync is cut off until someone imports the next one.',
      saferAlternative:
        'enrol a CA-issued machine certificate (AD CS autoenrolment) with CN=<the FQDN> and the FQDN in its SAN',
    },
    assess(before, after) {
      const next = after.certificate;
      const changed = before.listener?.thumbprint !== after.listener?.thumbprint;
      if (!changed || !next?.selfSigned) return null;
      return {
        label: 'HTTPS listener certificate',
        from: before.listener?.thumbprint || 'none',
        to: `self-signed ${next.thumbprint}`,
      };
    },
  },
  hooks: {
    // The listener is only usable if a client completes a TLS handshake with the new certificate.
    probeAfterChange: tlsHandshakeProbe,
  },
});
