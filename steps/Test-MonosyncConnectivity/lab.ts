/**
 * Test-MonosyncConnectivity: the acceptance test, run from the worker as the service account (the lab's
 * worker IS that account: `accountProof` 'identity'; a worker without the account's credential is what
 * the Pester tests of the script cover). It reads and reports; it never changes anything, and it refuses
 * rollback (there is nothing to undo).
 *
 * `changed` for a read-only step means "needs attention": false when every check the caller asked
 * for passes, true when one fails, so a plan of this step reports would-change instead of compliant.
 * The call itself still succeeds (ok: true) with the facts — the caller decides what a failed check
 * means (run-step verifies HTTPS with CheckSecondHop=false, acceptance checks both).
 *
 * The three probes are modelled from the worker's side, as the script meets them on Windows (the
 * LabSeam fakes of test/powershell/LabSeam.psm1 throw the same errors; the contract test of this
 * folder holds the two to each other). Each failed probe leaves its error code in the evidence:
 * - the TLS handshake to 5986 that accepts any certificate (Open-WinTlsStream, Invoke-WinTlsHandshake): a firewall
 *   that drops the worker's packets -> `10060` (no answer); WinRM stopped or no enabled HTTPS listener on 5986
 *   -> `10061` (refused); a listener whose certificate is gone from the store or has no private key
 *   -> `TlsHandshakeFailed`; otherwise the served certificate.
 * - Test-WSMan over HTTPS with Kerberos (Test-WinWsmanHttps): dropped -> `0x80338126`; refused or a
 *   broken handshake -> `0x80338012`; a served certificate that does not name the host, is not
 *   time-valid, or fails verification (the `tls-verify-fails` fault: an untrusted chain) -> `12175`.
 * - a session as the service account (Test-WinRemoteSession), when WinRM over HTTPS answered: refused
 *   (not in Remote Management Users, or the Microsoft.PowerShell endpoint disabled, not allowing the
 *   group or denying network logons) -> `sessionError` `5`.
 * - the second hop (Test-WinRemoteSysvol), only when asked for and the session opened: \\<Domain>\SYSVOL
 *   is reached exactly when Domain is the lab's domain and the computer object may delegate; a failed
 *   hop is tried again after each backoff (1 + 3 attempts), which in the lab changes nothing.
 * Not modelled: Kerberos itself (SPNs, a host outside the domain), the WinRM service's own RootSDDL,
 * administrators that are not in Remote Management Users.
 */
import type { z } from 'zod';
import { isTimeValid, namesHost } from '../../lab/certificates';
import { accountSid, downLevelName } from '../../lab/identity';
import type { LabCertificate, LabHost, LabListener } from '../../lab/model';
import { fail, failed, isFail, paramsOf, type Handler, type HandlerContext } from '../../lab/state-step';
import { certificateByThumbprint } from '../Set-HttpsListener/lab';
import { step } from './step';

/** The script's waits between second-hop attempts ($SecondHopBackoff): 1 + 3 attempts in all. */
const SECOND_HOP_ATTEMPTS = 4;

export const HTTPS_PORT = 5986;

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

/** The listener that answers on 5986: an enabled HTTPS listener on that port, whoever configured it. */
export function servingListener(host: LabHost): LabListener | undefined {
  return host.listeners.find((l) => l.transport === 'HTTPS' && l.enabled && l.port === HTTPS_PORT);
}

type TlsProbe = { served: LabCertificate; problem?: undefined } | { served?: undefined; problem: string; code: string };

/** What a TCP connection and a TLS handshake (accepting any certificate) from the worker to 5986 meet. */
function tlsProbe(host: LabHost, workerAddresses: readonly string[]): TlsProbe {
  if (!firewallAdmits(host, workerAddresses, HTTPS_PORT)) {
    return { problem: `the host firewall does not admit the worker on ${HTTPS_PORT}`, code: '10060' };
  }
  if (host.winrm.status !== 'Running') return { problem: 'WinRM is not running', code: '10061' };
  const listener = servingListener(host);
  if (!listener) return { problem: `no enabled HTTPS listener on ${HTTPS_PORT}`, code: '10061' };
  const cert = certificateByThumbprint(host, listener.thumbprint);
  if (!cert) {
    return { problem: `listener certificate ${listener.thumbprint} is not in the store`, code: 'TlsHandshakeFailed' };
  }
  if (!cert.hasPrivateKey)
    return { problem: 'the listener certificate has no private key', code: 'TlsHandshakeFailed' };
  return { served: cert };
}

/** Test-WSMan over HTTPS: the same connection, then the WinRM client's certificate validation. */
function wsmanProbe(ctx: HandlerContext, host: LabHost, tls: TlsProbe): { problem: string; code: string } | null {
  if (!tls.served) return { problem: tls.problem, code: tls.code === '10060' ? '0x80338126' : '0x80338012' };
  if (!namesHost(tls.served, host.fqdn))
    return { problem: 'the served certificate does not name the host', code: '12175' };
  if (!isTimeValid(tls.served, ctx.now)) return { problem: 'the served certificate is not time-valid', code: '12175' };
  // Only a handshake that got this far can fail verification; the fault plan decides whether it does.
  if (ctx.tlsVerifyFails(host.fqdn))
    return { problem: 'TLS verification of the served certificate failed', code: '12175' };
  return null;
}

export const verifyConnectivityLab: Handler = (ctx: HandlerContext) => {
  const params = paramsOf(ctx, step);
  if (isFail(params)) return failed(params.error);
  if (ctx.call.mode === 'rollback') {
    return failed(fail('InvalidInput', 'Test-MonosyncConnectivity only reads: there is nothing to roll back').error);
  }
  const host = ctx.host(params.Fqdn);
  // The lab's worker runs as the service account it is asked about; a token names it DOMAIN\user.
  const identity = downLevelName(params.ServiceAccount);

  const tls = tlsProbe(host, ctx.worker.addresses);
  const wsman = wsmanProbe(ctx, host, tls);
  const wsmanHttps = wsman === null;

  let sessionAsServiceAccount: boolean | null = null;
  let sessionError: string | null = null;
  let kerberosSecondHop = false;
  let secondHopAttempts = 0;
  const hopProblems: string[] = [];
  if (wsmanHttps) {
    const sid = accountSid(params.ServiceAccount);
    const endpoint = host.sessionConfiguration;
    const member = host.remoteManagementUsers.members.some((m) => m.sid === sid);
    sessionAsServiceAccount =
      member && endpoint.endpointsEnabled && endpoint.allowsRemoteManagementUsers && !endpoint.networkDenied;
    if (!sessionAsServiceAccount) {
      sessionError = '5';
      hopProblems.push(
        member
          ? 'the Microsoft.PowerShell endpoint refuses the service account'
          : 'the service account is not in Remote Management Users'
      );
    }
  }
  if (params.CheckSecondHop && sessionAsServiceAccount) {
    const computer = host.domainJoined ? ctx.computer(host.computerName) : undefined;
    const delegates =
      computer !== undefined && (computer.trustedForDelegation || computer.allowedToDelegateTo.length > 0);
    kerberosSecondHop = delegates && params.Domain.toLowerCase() === ctx.settings.domain.toLowerCase();
    secondHopAttempts = kerberosSecondHop ? 1 : SECOND_HOP_ATTEMPTS;
    if (!kerberosSecondHop) hopProblems.push('the computer object is not trusted for delegation');
  }

  const state: z.infer<typeof step.state> = {
    wsmanHttps,
    kerberosSecondHop,
    servedThumbprint: tls.served ? tls.served.thumbprint.toUpperCase() : null,
    sessionAsServiceAccount,
  };
  const healthy = wsmanHttps && sessionAsServiceAccount === true && (!params.CheckSecondHop || kerberosSecondHop);
  const warnings = [
    ...(tls.problem !== undefined ? [tls.problem] : []),
    ...(wsman && wsman.problem !== tls.problem ? [wsman.problem] : []),
    ...hopProblems,
  ];
  return {
    ok: true,
    compliant: healthy,
    changed: !healthy,
    before: state,
    after: state,
    evidence: {
      identity,
      accountProof: 'identity',
      ...(params.CheckSecondHop && sessionAsServiceAccount
        ? {
            secondHopProbe: `Test-Path \\\\${params.Domain}\\SYSVOL in a session on ${params.Fqdn} as ${params.ServiceAccount}`,
          }
        : {}),
      sessionError,
      secondHopAttempts,
      checkedSecondHop: params.CheckSecondHop,
      servedNotAfter: tls.served?.notAfter ?? null,
      tlsError: tls.served ? null : tls.code,
      wsmanError: wsman?.code ?? null,
      secondHopError: null,
    },
    warnings,
  };
};
