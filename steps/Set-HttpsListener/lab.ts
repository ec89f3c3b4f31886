/**
 * Set-HttpsListener: an HTTPS listener bound to a certificate that meets the selection rule
 * (lab/certificates.ts). A listener whose certificate still qualifies is left alone (no churn);
 * otherwise the listener is created or its thumbprint updated in place to the rule's winner. What
 * Set-HttpsListener.ps1 does, call for call (steps/Set-HttpsListener/contract.test.ts holds the two to it):
 * a listener set by Group Policy is never written, a self-signed certificate is issued at apply only (a
 * plan cannot know its thumbprint), and a rollback needs the complete saved state.
 */
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import {
  candidateReports,
  noCertificateError,
  pinnedCertificateError,
  qualifies,
  selectCertificate,
  selfSignedCertificate,
  type CertificateRules,
} from '../../lab/certificates';
import type { LabCertificate, LabHost, LabListener } from '../../lab/model';
import {
  fail,
  isFail,
  runStateStep,
  type Fail,
  type Handler,
  type HandlerContext,
  type StateStep,
} from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

const HTTPS_PORT = 5986;
const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

const POLICY_MESSAGE =
  'The HTTPS listener is set by Group Policy (Source=GPO); change the GPO, this step does not write it';

/** What a saved listener can hold (the script refuses to write back anything else). */
const SAVED_HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)?$/;
const SAVED_THUMBPRINT = /^(?:[0-9A-Fa-f]{40})?$/;

/**
 * The managed listener: HTTPS, not a `Compatibility` one (80/443, IIS's), the `Address=*` one when there are
 * several.
 */
export function httpsListener(host: LabHost): LabListener | undefined {
  const https = host.listeners.filter((l) => l.transport === 'HTTPS' && l.source !== 'Compatibility');
  return https.find((l) => l.address === '*') ?? https[0];
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

/**
 * The pinned certificate, else the bound one while it qualifies, else the rule's winner; null when apply must
 * create a self-signed one (an explicit policy choice, never a silent fallback).
 */
function pick(
  ctx: HandlerContext,
  params: Params,
  rules: CertificateRules,
  bound: LabCertificate | undefined
): { cert: LabCertificate | null } | Fail {
  const store = hostOf(ctx).certificates;
  if (params.Thumbprint) {
    const pinned = certificateByThumbprint(hostOf(ctx), params.Thumbprint);
    const problem = pinnedCertificateError(pinned, params.Thumbprint, rules);
    if (problem || !pinned) return { error: problem ?? noCertificateError(store, rules) };
    return { cert: pinned };
  }
  if (bound && qualifies(bound, rules)) return { cert: bound };
  const winner = selectCertificate(store, rules);
  if (winner) return { cert: winner };
  if (params.AllowSelfSigned) return { cert: null };
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
    const chosen = picked.cert;
    // At apply the new self-signed certificate is known (the script reports the one it created).
    const created = chosen === null && ctx.call.mode === 'apply' ? selfSignedCertificate(params.Fqdn, ctx.now) : null;
    const evidence = {
      selectedThumbprint: chosen?.thumbprint ?? created?.thumbprint ?? '',
      selfSigned: chosen?.selfSigned ?? true,
      newSelfSigned: chosen === null,
      candidates,
    };

    const listenerOk =
      chosen !== null &&
      before.listener !== null &&
      before.listener.thumbprint.toUpperCase() === chosen.thumbprint.toUpperCase() &&
      before.listener.hostname.toLowerCase() === params.Fqdn.toLowerCase();
    if (listenerOk) return { state: before, evidence };
    if (httpsListener(host)?.source === 'GPO') return fail('PolicyControlled', POLICY_MESSAGE);
    const state: State = {
      // No thumbprint and no certificate: apply issues one (New-SelfSignedCertificate), see the risk rule.
      listener: {
        port: before.listener?.port ?? HTTPS_PORT,
        hostname: params.Fqdn,
        thumbprint: chosen?.thumbprint ?? '',
      },
      certificate: chosen ? { ...chosen, dnsNames: [...chosen.dnsNames] } : null,
    };
    return { state, evidence };
  },
  write(ctx, params, _from, to) {
    const host = hostOf(ctx);
    const existing = httpsListener(host);
    if (!to.listener) {
      // Only the managed listener; certificates are never deleted on rollback: another binding may rely on them.
      host.listeners = host.listeners.filter((l) => l !== existing);
      return;
    }
    let thumbprint = to.listener.thumbprint;
    if (thumbprint === '') {
      const created = selfSignedCertificate(params.Fqdn, ctx.now);
      host.certificates.push(created);
      thumbprint = created.thumbprint;
    }
    if (existing) {
      // In place, port, hostname and thumbprint in one write: no window without a listener.
      existing.thumbprint = thumbprint;
      existing.hostname = to.listener.hostname;
      existing.port = to.listener.port;
      existing.enabled = true;
    } else {
      host.listeners.push({
        address: '*',
        transport: 'HTTPS',
        port: to.listener.port,
        hostname: to.listener.hostname,
        thumbprint,
        enabled: true,
        source: 'Local',
      });
    }
  },
  restore(ctx, _params, current, target) {
    const host = hostOf(ctx);
    const gpo = httpsListener(host)?.source === 'GPO';
    if (!target.listener) {
      if (current.listener && gpo) return fail('PolicyControlled', POLICY_MESSAGE);
      return { state: { listener: null, certificate: null } };
    }
    const { port, hostname, thumbprint } = target.listener;
    if (!Number.isInteger(port) || port < 1 || port > 65535 || !SAVED_HOSTNAME.test(hostname)) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved listener is not one WinRM holds`
      );
    }
    if (!SAVED_THUMBPRINT.test(thumbprint)) {
      return fail('InvalidInput', `${step.definition.script} -Mode rollback: the saved thumbprint is not a thumbprint`);
    }
    const saved = { port, hostname, thumbprint };
    if (isDeepStrictEqual(current.listener, saved)) return { state: current };
    const old = thumbprint ? certificateByThumbprint(host, thumbprint) : undefined;
    if (!old) return { state: current, warnings: [`certificate ${thumbprint} is gone: binding left as is`] };
    if (gpo) return fail('PolicyControlled', POLICY_MESSAGE);
    return { state: { listener: saved, certificate: { ...old, dnsNames: [...old.dnsNames] } } };
  },
};

export const ensureHttpsListenerLab: Handler = (ctx) => runStateStep(model, ctx);
