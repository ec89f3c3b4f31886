/**
 * Set-HttpsListener: an HTTPS listener bound to a certificate that meets the selection rule
 * (lab/certificates.ts). A listener whose certificate still qualifies is left alone (no churn);
 * otherwise the listener is created or its thumbprint updated in place to the rule's winner.
 */
import type { z } from 'zod';
import {
  candidateReports,
  daysLeft,
  noCertificateError,
  pinnedCertificateError,
  qualifies,
  selectCertificate,
  selfSignedCertificate,
  type CertificateRules,
} from '../../lab/certificates';
import type { LabCertificate, LabHost, LabListener } from '../../lab/model';
import {
  isFail,
  type Fail,
  runStateStep,
  type Handler,
  type HandlerContext,
  type StateStep,
} from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

const HTTPS_PORT = 5986;
const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

/** Listeners are selected by transport; `Compatibility` listeners (80/443) belong to IIS and are ignored. */
export function httpsListener(host: LabHost): LabListener | undefined {
  return host.listeners.find((l) => l.transport === 'HTTPS' && l.source !== 'Compatibility');
}

export function certificateByThumbprint(host: LabHost, thumbprint: string): LabCertificate | undefined {
  const wanted = thumbprint.toUpperCase();
  return host.certificates.find((c) => c.thumbprint.toUpperCase() === wanted);
}

export function readListener(host: LabHost): State {
  const listener = httpsListener(host);
  if (!listener) return { listener: null, certificate: null };
  const cert = certificateByThumbprint(host, listener.thumbprint);
  return {
    listener: { port: listener.port, hostname: listener.hostname, thumbprint: listener.thumbprint },
    certificate: cert ? { ...cert, dnsNames: [...cert.dnsNames] } : null,
  };
}

function rulesFor(ctx: HandlerContext, params: Params): CertificateRules {
  return {
    fqdn: params.Fqdn,
    now: ctx.now,
    minDaysLeft: params.MinDaysLeft,
    issuers: params.Issuers,
    allowSelfSigned: params.AllowSelfSigned,
  };
}

function evidenceFor(ctx: HandlerContext, cert: LabCertificate, extra: Record<string, unknown>) {
  return {
    selectedThumbprint: cert.thumbprint,
    selfSigned: cert.selfSigned,
    issuer: cert.issuer,
    notAfter: cert.notAfter,
    daysLeft: daysLeft(cert, ctx.now),
    ...extra,
  };
}

/** The pinned certificate, else the bound one while it qualifies, else the rule's winner. */
function pick(
  ctx: HandlerContext,
  params: Params,
  rules: CertificateRules,
  bound: LabCertificate | undefined
): { cert: LabCertificate; created: boolean } | Fail {
  const store = hostOf(ctx).certificates;
  if (params.Thumbprint) {
    const pinned = certificateByThumbprint(hostOf(ctx), params.Thumbprint);
    const problem = pinnedCertificateError(pinned, params.Thumbprint, rules);
    if (problem || !pinned) return { error: problem ?? noCertificateError(store, rules) };
    return { cert: pinned, created: false };
  }
  if (bound && qualifies(bound, rules)) return { cert: bound, created: false };
  const winner = selectCertificate(store, rules);
  if (winner) return { cert: winner, created: false };
  // Creating a self-signed certificate is an explicit policy choice, never a silent fallback.
  if (params.AllowSelfSigned) return { cert: selfSignedCertificate(params.Fqdn, ctx.now), created: true };
  return { error: noCertificateError(store, rules) };
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx) => readListener(hostOf(ctx)),
  desire(ctx, params, before) {
    const host = hostOf(ctx);
    const rules = rulesFor(ctx, params);
    const candidates = candidateReports(host.certificates, rules);
    const bound = before.listener ? certificateByThumbprint(host, before.listener.thumbprint) : undefined;

    const picked = pick(ctx, params, rules, bound);
    if (isFail(picked)) return picked;
    const { cert: chosen, created } = picked;

    const listenerOk =
      before.listener !== null &&
      before.listener.thumbprint.toUpperCase() === chosen.thumbprint.toUpperCase() &&
      before.listener.hostname.toLowerCase() === params.Fqdn;
    const state: State = listenerOk
      ? before
      : {
          listener: { port: before.listener?.port ?? HTTPS_PORT, hostname: params.Fqdn, thumbprint: chosen.thumbprint },
          certificate: { ...chosen, dnsNames: [...chosen.dnsNames] },
        };
    return { state, evidence: evidenceFor(ctx, chosen, { createdSelfSigned: created, candidates }) };
  },
  write(ctx, _params, _from, to) {
    const host = hostOf(ctx);
    const existing = httpsListener(host);
    if (!to.listener) {
      // Certificates are never deleted on rollback: another binding may rely on them.
      host.listeners = host.listeners.filter((l) => !(l.transport === 'HTTPS' && l.source === 'Local'));
      return;
    }
    if (to.certificate && !certificateByThumbprint(host, to.certificate.thumbprint)) {
      host.certificates.push({ ...to.certificate, dnsNames: [...to.certificate.dnsNames] });
    }
    if (existing) {
      // In place, hostname and thumbprint together: no window without a listener, no CN check between edits.
      existing.thumbprint = to.listener.thumbprint;
      existing.hostname = to.listener.hostname;
      existing.port = to.listener.port;
      existing.enabled = true;
    } else {
      host.listeners.push({
        address: '*',
        transport: 'HTTPS',
        port: to.listener.port,
        hostname: to.listener.hostname,
        thumbprint: to.listener.thumbprint,
        enabled: true,
        source: 'Local',
      });
    }
  },
  restore(ctx, _params, current, target) {
    if (!target.listener) return { state: { listener: null, certificate: null } };
    const old = certificateByThumbprint(hostOf(ctx), target.listener.thumbprint);
    if (!old) {
      return { state: current, warnings: [`certificate ${target.listener.thumbprint} is gone: binding left as is`] };
    }
    return { state: { listener: { ...target.listener }, certificate: { ...old, dnsNames: [...old.dnsNames] } } };
  },
};

export const ensureHttpsListenerLab: Handler = (ctx) => runStateStep(model, ctx);
