/**
 * Set-HttpsListener: an HTTPS listener bound to a certificate that meets the selection rule
 * (lab/certificates.ts). A listener whose certificate still qualifies is left alone (no churn);
 * otherwise the listener is created or its thumbprint updated in place to the rule's winner. What
 * Set-HttpsListener.ps1 does, call for call (steps/Set-HttpsListener/contract.test.ts holds the two to it):
 * a listener set by Group Policy is never written, no self-signed certificate is ever created, an HTTP.sys
 * SSL binding on the listener's 0.0.0.0:<port> that WinRM does not own is reported (and refused when it
 * would make the listener's creation fail), a rollback needs the complete saved state, and plan and apply
 * stop as PolicyControlled while 'Allow remote server management through WinRM' has an empty IPv4 filter.
 */
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import {
  candidateReports,
  noCertificateError,
  pinnedCertificateError,
  qualifies,
  selectCertificate,
  subjectCommonName,
  WINRM_APP_ID,
  type CertificateRules,
} from '../../lab/certificates';
import type { LabCertificate, LabHost, LabListener, LabSslBinding } from '../../lab/model';
import {
  fail,
  isFail,
  runStateStep,
  type Fail,
  type Handler,
  type HandlerContext,
  type StateStep,
} from '../../lab/state-step';
import { listenerPolicyProblem } from '../Enable-Remoting/lab';
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

const upperKeys = <T>(record: Record<string, T> | undefined): Record<string, T> =>
  Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k.toUpperCase(), v]));

function rulesFor(ctx: HandlerContext, params: Params): CertificateRules {
  const host = hostOf(ctx);
  return {
    fqdn: params.Fqdn,
    now: ctx.now,
    minDaysLeft: params.MinDaysLeft,
    issuers: params.Issuers,
    trustedSelfSigned: params.TrustedSelfSigned.map((t) => t.toUpperCase()),
    exchangeServices: upperKeys(host.exchangeCertificateServices),
    chainErrors: upperKeys(host.certificateChainErrors),
  };
}

export const EXCHANGE_SNAP_IN_ABSENT =
  'the Exchange Management Shell snap-in is not installed (or lists no certificate): certificates bound to ' +
  'Exchange services could not be excluded';

/**
 * The SSL binding HTTP.sys holds on ipPort, as netsh http show sslcert lists it: one WinRM does not keep
 * (host.httpSysSslBindings), else the one WinRM keeps for its Address=* HTTPS listener on that port.
 */
export function sslBindingAt(host: LabHost, port: number): LabSslBinding | null {
  const ipPort = `0.0.0.0:${port}`;
  const foreign = (host.httpSysSslBindings ?? []).find((b) => b.ipPort === ipPort);
  if (foreign) return foreign;
  const owner = host.listeners.find(
    (l) => l.transport === 'HTTPS' && l.source !== 'Compatibility' && l.address === '*' && l.port === port
  );
  return owner ? { ipPort, certificateHash: owner.thumbprint.toLowerCase(), appId: WINRM_APP_ID } : null;
}

/**
 * A binding on the listener's port that no listener owns makes WinRM's create fail (183, the binding
 * exists): refused with the fix. One under a listener that serves another certificate is reported.
 */
function checkSslBinding(
  host: LabHost,
  port: number,
  listener: State['listener']
): { binding: LabSslBinding | null; warnings: string[] } | Fail {
  const binding = sslBindingAt(host, port);
  if (!binding) return { binding, warnings: [] };
  const managed = httpsListener(host);
  const owned = managed !== undefined && managed.address === '*' && listener !== null && listener.port === port;
  const fix = `netsh http delete sslcert ipport=${binding.ipPort}`;
  if (!owned) {
    return fail(
      'StaleSslBinding',
      `HTTP.sys holds an SSL binding on ${binding.ipPort} (certificate ${binding.certificateHash}, application ` +
        `${binding.appId}) that no WinRM listener owns, so WinRM cannot create its listener there. Remove it ` +
        `(${fix}) if nothing else uses it, then retry.`
    );
  }
  if (binding.certificateHash.toUpperCase() !== listener.thumbprint.toUpperCase()) {
    return {
      binding,
      warnings: [
        `HTTP.sys serves certificate ${binding.certificateHash} on ${binding.ipPort}, not the listener's ` +
          `${listener.thumbprint}: a stale binding. Remove it (${fix}) and run this step again.`,
      ],
    };
  }
  return { binding, warnings: [] };
}

/** The pinned certificate, else the bound one while it qualifies, else the rule's winner. */
function pick(
  ctx: HandlerContext,
  params: Params,
  rules: CertificateRules,
  bound: LabCertificate | undefined
): { cert: LabCertificate } | Fail {
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
  return { error: noCertificateError(store, rules) };
}

/**
 * WinRM's own checks when it writes an HTTPS listener, with its codes and texts (LabSeam's are the same):
 * reached only by a rollback, since the selection rule never picks a certificate WinRM refuses. Creating
 * one over an HTTP.sys binding no listener owns fails with 183; the certificate needs the Server
 * Authentication EKU (0x803380EE) and its subject CN must be the Hostname (0x803380E9).
 */
function winrmRefusal(
  host: LabHost,
  cert: LabCertificate,
  hostname: string,
  creatingOnPort: number | null
): Fail | null {
  if (
    creatingOnPort !== null &&
    (host.httpSysSslBindings ?? []).some((b) => b.ipPort === `0.0.0.0:${creatingOnPort}`)
  ) {
    return fail('183', 'Cannot create a file when that file already exists. ');
  }
  if (!cert.serverAuth) {
    return fail(
      '0x803380EE',
      'The WinRM client cannot process the request. The Enhanced Key Usage (EKU) field of the certificate is not set to "Server Authentication". Retry the request with a certificate that has the correct EKU.'
    );
  }
  if ((subjectCommonName(cert.subject) ?? '').toLowerCase() !== hostname.toLowerCase()) {
    return fail(
      '0x803380E9',
      'The WinRM client cannot process the request. The certificate CN and the hostname that were provided do not match.'
    );
  }
  return null;
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx) => readListener(hostOf(ctx)),
  desire(ctx, params, before) {
    const host = hostOf(ctx);
    // An empty IPv4 filter of 'Allow remote server management through WinRM' leaves this listener no IPv4 address.
    const policyProblem = listenerPolicyProblem(host);
    if (policyProblem) return fail('PolicyControlled', policyProblem);
    const rules = rulesFor(ctx, params);
    const warnings: string[] = [];
    if (Object.keys(rules.exchangeServices).length === 0) warnings.push(EXCHANGE_SNAP_IN_ABSENT);
    const candidates = candidateReports(host.certificates, rules);
    const bound = before.listener ? certificateByThumbprint(host, before.listener.thumbprint) : undefined;

    const picked = pick(ctx, params, rules, bound);
    if (isFail(picked)) return picked;
    const chosen = picked.cert;
    const port = before.listener?.port ?? HTTPS_PORT;
    const ssl = checkSslBinding(host, port, before.listener);
    if (isFail(ssl)) return ssl;
    warnings.push(...ssl.warnings);
    const evidence = {
      selectedThumbprint: chosen.thumbprint,
      selfSigned: chosen.selfSigned,
      candidates,
      sslBinding: ssl.binding,
    };

    const listenerOk =
      before.listener !== null &&
      before.listener.thumbprint.toUpperCase() === chosen.thumbprint.toUpperCase() &&
      before.listener.hostname.toLowerCase() === params.Fqdn.toLowerCase();
    if (listenerOk) return { state: before, evidence, warnings };
    if (httpsListener(host)?.source === 'GPO') return fail('PolicyControlled', POLICY_MESSAGE);
    const state: State = {
      listener: { port, hostname: params.Fqdn, thumbprint: chosen.thumbprint },
      certificate: { ...chosen, dnsNames: [...chosen.dnsNames] },
    };
    return { state, evidence, warnings };
  },
  write(ctx, _params, _from, to) {
    const host = hostOf(ctx);
    const existing = httpsListener(host);
    if (!to.listener) {
      // Only the managed listener; certificates are never deleted on rollback: another binding may rely on them.
      host.listeners = host.listeners.filter((l) => l !== existing);
      return;
    }
    const { thumbprint } = to.listener;
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
    const refused = winrmRefusal(host, old, hostname, httpsListener(host) ? null : port);
    if (refused) return refused;
    return { state: { listener: saved, certificate: { ...old, dnsNames: [...old.dnsNames] } } };
  },
};

export const ensureHttpsListenerLab: Handler = (ctx) => runStateStep(model, ctx);
