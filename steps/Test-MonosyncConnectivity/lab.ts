/**
 * Test-MonosyncConnectivity: the acceptance test, run from the worker as the service account. It
 * reads and reports; it never changes anything.
 *
 * `changed` for a read-only step means "needs attention": false when every check the caller asked
 * for passes, true when one fails, so a plan of this step reports would-change instead of compliant.
 * The call itself still succeeds (ok: true) with the facts — the caller decides what a failed check
 * means (run-step verifies HTTPS with CheckSecondHop=false, acceptance checks both).
 */
import type { z } from 'zod';
import { isTimeValid, namesHost } from '../../lab/certificates';
import { accountSid } from '../../lab/identity';
import type { LabHost } from '../../lab/model';
import { failed, isFail, paramsOf, type Handler, type HandlerContext } from '../../lab/state-step';
import { certificateByThumbprint, httpsListener } from '../Set-HttpsListener/lab';
import { step } from './step';

function firewallAdmits(host: LabHost, workerAddresses: readonly string[], port: number): boolean {
  if (!host.firewall.enabled) return true;
  if (!host.firewall.localRulesApply) return false;
  return host.firewall.rules.some(
    (rule) =>
      rule.enabled &&
      rule.localPorts.includes(port) &&
      (workerAddresses.length === 0 ||
        rule.remoteAddresses.some((a) => a.toLowerCase() === 'any' || workerAddresses.includes(a)))
  );
}

export const verifyConnectivityLab: Handler = (ctx: HandlerContext) => {
  const params = paramsOf(ctx, step);
  if (isFail(params)) return failed(params.error);
  const host = ctx.host(params.Fqdn);
  const problems: string[] = [];

  const running = host.winrm.status === 'Running';
  if (!running) problems.push('WinRM is not running');
  const listener = httpsListener(host);
  if (!listener || !listener.enabled) problems.push('no HTTPS listener');
  const cert = listener ? certificateByThumbprint(host, listener.thumbprint) : undefined;
  if (listener && !cert) problems.push(`listener certificate ${listener.thumbprint} is not in the store`);
  if (cert && !namesHost(cert, host.fqdn)) problems.push('the served certificate does not name the host');
  if (cert && !isTimeValid(cert, ctx.now)) problems.push('the served certificate is not time-valid');
  if (cert && !cert.hasPrivateKey) problems.push('the listener certificate has no private key');
  const reachable = running && firewallAdmits(host, ctx.worker.addresses, 5986);
  if (!reachable && running) problems.push('the host firewall does not admit the worker on 5986');
  const handshake = problems.length === 0 && listener !== undefined;
  // Only a handshake that got this far can fail verification; the fault plan decides whether it does.
  if (handshake && ctx.tlsVerifyFails(host.fqdn)) problems.push('TLS verification of the served certificate failed');
  const wsmanHttps = problems.length === 0;

  const computer = host.domainJoined ? ctx.computer(host.computerName) : undefined;
  const delegates =
    computer !== undefined && (computer.trustedForDelegation || computer.allowedToDelegateTo.length > 0);
  const sid = accountSid(params.ServiceAccount);
  const member = host.remoteManagementUsers.members.some((m) => m.sid === sid);
  const kerberosSecondHop = delegates && member;
  const hopProblems = [
    ...(delegates ? [] : ['the computer object is not trusted for delegation']),
    ...(member ? [] : ['the service account is not in Remote Management Users']),
  ];

  const state: z.infer<typeof step.state> = {
    wsmanHttps,
    kerberosSecondHop,
    servedThumbprint: reachable && listener ? listener.thumbprint : null,
  };
  const healthy = wsmanHttps && (!params.CheckSecondHop || kerberosSecondHop);
  const warnings = [...problems, ...(params.CheckSecondHop ? hopProblems : [])];
  return {
    ok: true,
    compliant: healthy,
    changed: !healthy,
    before: state,
    after: state,
    evidence: {
      checkedSecondHop: params.CheckSecondHop,
      servedNotAfter: cert?.notAfter ?? null,
      problems: warnings,
    },
    warnings,
  };
};
