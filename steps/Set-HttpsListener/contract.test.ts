/**
 * Set-HttpsListener.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1: host.listeners as
 * Get-WSManInstance enumerates them, host.certificates as Cert:\LocalMachine\My) and the lab handler return
 * equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the same state. See
 * test/support/script-contract.ts for what is compared.
 *
 * What Windows adds, each with a starting state: WinRM binds a listener only to a certificate whose CN is
 * its Hostname (0x803380E9; LabSeam refuses any other write as WinRM does, so a script that picked a
 * SAN-only certificate would fail here), Exchange's service bindings (Get-ExchangeCertificate, or no
 * snap-in), Test-Certificate's chain check, and HTTP.sys SSL bindings on 0.0.0.0:<port> (netsh).
 */
import assert from 'node:assert/strict';
import type { LabEstate } from '../../lab/estate';
import { WINRM_APP_ID } from '../../lab/certificates';
import { thumbprintFor } from '../../lab/identity';
import type { LabHost } from '../../lab/model';
import { CONTRACT_FQDN, type ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const certificate = (c: Record<string, unknown>) => ({ certificate: c });
const VALID = { Fqdn: 'exch01.corp.example', MinDaysLeft: 30, Issuers: [], TrustedSelfSigned: [] };
const CORP_ISSUER = 'CN=Corp Issuing CA 01, DC=corp, DC=example';

/** Certificates of the `fresh` profile (lab/profiles.ts; test/support/fleet-files.ts estateFor uses seed 7). */
const MACHINE = thumbprintFor(`7|${CONTRACT_FQDN}|machine-current`);
const OLDER = thumbprintFor(`7|${CONTRACT_FQDN}|machine-older`);
const MAIL = thumbprintFor(`7|${CONTRACT_FQDN}|client-access`);
/** Exchange setup's own self-signed certificate: CN=EXCH01, the FQDN only in its SAN. */
const EXCHANGE = thumbprintFor(`7|${CONTRACT_FQDN}|exchange-self-signed`);

function machineCert(host: LabHost) {
  const cert = host.certificates.find((c) => c.thumbprint === MACHINE);
  assert.ok(cert, 'the profile has the current machine certificate');
  return cert;
}

/** A listener as WinRM would hold it: its Hostname is its certificate's CN (WinRM refuses any other, 0x803380E9). */
function bind(estate: LabEstate, fqdn: string, listener: Partial<LabHost['listeners'][number]>) {
  const host = estate.host(fqdn);
  host.listeners.push({
    address: '*',
    transport: 'HTTPS',
    port: 5986,
    hostname: fqdn,
    thumbprint: machineCert(host).thumbprint,
    enabled: true,
    source: 'Local',
    ...listener,
  });
}

/** A self-signed certificate with CN=<FQDN>: what an operator could import on the Monosync servers. */
function addOwnSelfSigned(estate: LabEstate, fqdn: string, thumbprint: string) {
  const host = estate.host(fqdn);
  const cert = machineCert(host);
  host.certificates = [{ ...cert, thumbprint, issuer: cert.subject, selfSigned: true }];
}
const OWN_SELF_SIGNED = 'D'.repeat(40);

const SAVED_LISTENER = { port: 5986, hostname: 'exch01.corp.example', thumbprint: 'A'.repeat(40) };

const CASES: ContractCase[] = [
  { name: 'compliant: onboarded, bound to the current machine certificate', profile: 'onboarded' },
  { name: 'absent: no HTTPS listener (a fresh server)' },
  {
    name: 'absent, one certificate in the store (one-element collections)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.certificates = [machineCert(host)];
    },
  },
  {
    name: 'absent, an empty store, self-signed allowed: none is created',
    policy: certificate({ allowSelfSigned: true, trustedSelfSigned: [OWN_SELF_SIGNED] }),
    arrange: (e, fqdn) => void (e.host(fqdn).certificates = []),
  },
  {
    name: 'absent, a self-signed certificate the Monosync side trusts (listed in the fleet)',
    policy: certificate({ allowSelfSigned: true, trustedSelfSigned: [OWN_SELF_SIGNED] }),
    arrange: (e, fqdn) => addOwnSelfSigned(e, fqdn, OWN_SELF_SIGNED),
  },
  {
    name: 'absent, a self-signed certificate the Monosync side does not trust',
    arrange: (e, fqdn) => addOwnSelfSigned(e, fqdn, OWN_SELF_SIGNED),
  },
  {
    name: 'absent, only certificates that name the server in their SAN (an Exchange SAN certificate, CN=EXCH01)',
    profile: 'san-only-cert',
  },
  {
    name: 'absent, the current machine certificate bound to Exchange (IIS, SMTP): the older one is chosen',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.exchangeCertificateServices = { ...host.exchangeCertificateServices, [MACHINE]: ['IIS', 'SMTP'] };
    },
  },
  {
    name: 'absent, no Exchange snap-in (bindings cannot be read; said in a warning)',
    arrange: (e, fqdn) => void delete e.host(fqdn).exchangeCertificateServices,
  },
  { name: 'absent, the machine certificates chain to a root the server does not trust', profile: 'untrusted-chain' },
  {
    name: 'absent, the current machine certificate only fails the chain check',
    arrange: (e, fqdn) => {
      e.host(fqdn).certificateChainErrors = {
        [MACHINE]: 'The certificate is revoked. 0x80092010 (-2146885616 CRYPT_E_REVOKED)',
      };
    },
  },
  {
    name: 'absent, a stale HTTP.sys SSL binding on 0.0.0.0:5986 (refused, nothing written)',
    profile: 'stale-ssl-binding',
  },
  {
    name: 'compliant listener, HTTP.sys serving another certificate on 0.0.0.0:5986 (reported)',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      e.host(fqdn).httpSysSslBindings = [
        { ipPort: '0.0.0.0:5986', certificateHash: OLDER.toLowerCase(), appId: WINRM_APP_ID },
      ];
    },
  },
  {
    name: 'absent, an empty store, self-signed not allowed',
    arrange: (e, fqdn) => void (e.host(fqdn).certificates = []),
  },
  { name: 'partial: the bound certificate expires soon (rotated in place)', profile: 'expiring-cert' },
  {
    name: "partial: bound to Exchange's self-signed certificate under the computer name",
    arrange: (e, fqdn) => bind(e, fqdn, { hostname: 'EXCH01', thumbprint: EXCHANGE }),
  },
  {
    name: 'partial: the bound certificate was deleted',
    arrange: (e, fqdn) => bind(e, fqdn, { thumbprint: 'B'.repeat(40) }),
  },
  {
    name: 'conflicting: bound to the client-access certificate (mail.corp.example) on port 443',
    arrange: (e, fqdn) => bind(e, fqdn, { thumbprint: MAIL, hostname: 'mail.corp.example', port: 443 }),
  },
  {
    name: 'conflicting: two HTTPS listeners, the Address=* one is managed',
    arrange: (e, fqdn) => {
      bind(e, fqdn, { address: 'IP:10.0.0.5', port: 5987 });
      bind(e, fqdn, { hostname: 'EXCH01', thumbprint: EXCHANGE });
    },
  },
  {
    name: 'owned by someone else: an IIS Compatibility listener on 443 is ignored',
    arrange: (e, fqdn) => bind(e, fqdn, { source: 'Compatibility', port: 443, hostname: '' }),
  },
  {
    name: 'set by Group Policy, compliant: nothing to write',
    arrange: (e, fqdn) => bind(e, fqdn, { source: 'GPO' }),
  },
  {
    name: 'set by Group Policy, needs a change: PolicyControlled, nothing written',
    arrange: (e, fqdn) => bind(e, fqdn, { source: 'GPO', hostname: 'EXCH01', thumbprint: EXCHANGE }),
  },
  {
    name: "set by Group Policy: 'Allow remote server management through WinRM' with an empty IPv4 filter (PolicyControlled, nothing written; rollback still works)",
    profile: 'gpo-winrm-ipv4-filter',
  },
  {
    name: 'set by Group Policy: the same policy with an IPv4 filter of ranges (the listener is made)',
    profile: 'gpo-winrm-ipv4-filter',
    arrange: (e, fqdn) =>
      void (e.host(fqdn).winrmListenerPolicy = { ipv4Filter: '10.0.0.1-10.0.0.254', ipv6Filter: '' }),
  },
  {
    name: 'issuer allow-list with one issuer (one-element Issuers)',
    policy: certificate({ issuers: ['cn=corp issuing ca 01,dc=corp,dc=example'] }),
  },
  {
    name: 'issuer allow-list naming another CA',
    policy: certificate({ issuers: ['CN=Other CA, DC=corp, DC=example', CORP_ISSUER.replace('01', '02')] }),
  },
  { name: 'expired only', profile: 'expired-only' },
  { name: 'no private key', profile: 'no-private-key' },
  {
    name: "pinned to the machine certificate while bound to last year's",
    policy: certificate({ thumbprint: MACHINE }),
    arrange: (e, fqdn) => bind(e, fqdn, { thumbprint: OLDER }),
  },
  {
    name: 'pinned to a certificate that does not name the server',
    policy: certificate({ thumbprint: MAIL }),
  },
  {
    name: 'pinned to a certificate that is not in the store',
    policy: certificate({ thumbprint: 'C'.repeat(40) }),
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused: the listener stays',
    profile: 'onboarded',
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: null } }],
  },
  {
    name: 'rollback to a partial state (no certificate) is refused',
    profile: 'onboarded',
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { listener: SAVED_LISTENER } } }],
  },
  {
    name: 'rollback to a listener without a port is refused',
    profile: 'onboarded',
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: {
          value: { listener: { hostname: 'exch01.corp.example', thumbprint: 'A'.repeat(40) }, certificate: null },
        },
      },
    ],
  },
  {
    name: 'rollback to a hostile host name or thumbprint is refused',
    profile: 'onboarded',
    calls: [
      {
        label: 'rollback, hostile hostname',
        mode: 'rollback',
        rollbackTo: {
          value: { listener: { ...SAVED_LISTENER, hostname: "x'; Remove-Item C:\\ -Recurse; '" }, certificate: null },
        },
      },
      {
        label: 'rollback, hostname with a line break',
        mode: 'rollback',
        rollbackTo: {
          value: { listener: { ...SAVED_LISTENER, hostname: 'exch01.corp.example\n' }, certificate: null },
        },
      },
      {
        label: 'rollback, hostile thumbprint',
        mode: 'rollback',
        rollbackTo: {
          value: { listener: { ...SAVED_LISTENER, thumbprint: '$(Remove-Item C:\\)' }, certificate: null },
        },
      },
      {
        label: 'rollback, port 0',
        mode: 'rollback',
        rollbackTo: { value: { listener: { ...SAVED_LISTENER, port: 0 }, certificate: null } },
      },
    ],
  },
  {
    name: 'rollback to a certificate that is gone leaves the binding (a warning)',
    profile: 'onboarded',
    calls: [
      { label: 'rollback', mode: 'rollback', rollbackTo: { value: { listener: SAVED_LISTENER, certificate: null } } },
    ],
  },
  {
    name: 'rollback of a listener someone deleted meanwhile recreates it on its saved port',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = host.listeners.filter((l) => l.transport !== 'HTTPS');
    },
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { listener: { ...SAVED_LISTENER, port: 443, thumbprint: MACHINE }, certificate: null } },
      },
      { label: 'verify', mode: 'plan' },
    ],
  },
  {
    name: "rollback to a saved pair WinRM refuses (Exchange's CN=EXCH01 under the FQDN): 0x803380E9, nothing written",
    profile: 'onboarded',
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { listener: { ...SAVED_LISTENER, thumbprint: EXCHANGE }, certificate: null } },
      },
    ],
  },
  {
    name: 'rollback recreating a deleted listener over a stale HTTP.sys binding: 183, nothing written',
    profile: 'stale-ssl-binding',
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { listener: { ...SAVED_LISTENER, thumbprint: MACHINE }, certificate: null } },
      },
    ],
  },
  {
    name: 'rollback to no listener when Group Policy set one is refused',
    arrange: (e, fqdn) => bind(e, fqdn, { source: 'GPO' }),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { listener: null, certificate: null } } }],
  },
  {
    name: 'Issuers empty, null or hostile; Fqdn, MinDaysLeft, TrustedSelfSigned of the wrong type',
    calls: [
      { label: 'plan, Issuers []', mode: 'plan', params: { ...VALID, Issuers: [] } },
      { label: 'plan, Issuers null', mode: 'plan', params: { ...VALID, Issuers: null } },
      {
        label: 'plan, a hostile issuer',
        mode: 'plan',
        params: { ...VALID, Issuers: ["CN=x'; Remove-Item C:\\ -Recurse; '"] },
      },
      { label: 'plan, a typographic quote', mode: 'plan', params: { ...VALID, Issuers: ['CN=Corp \u2018CA\u2019'] } },
      { label: 'apply, hostile Fqdn', mode: 'apply', params: { ...VALID, Fqdn: 'exch01.corp.example;' } },
      { label: 'apply, Fqdn with a line break', mode: 'apply', params: { ...VALID, Fqdn: 'exch01.corp.example\n' } },
      { label: 'apply, MinDaysLeft as text', mode: 'apply', params: { ...VALID, MinDaysLeft: '30' } },
      {
        label: 'apply, TrustedSelfSigned as text',
        mode: 'apply',
        params: { ...VALID, TrustedSelfSigned: 'D'.repeat(40) },
      },
      { label: 'apply, AllowSelfSigned (gone)', mode: 'apply', params: { ...VALID, AllowSelfSigned: true } },
      { label: 'apply, hostile Thumbprint', mode: 'apply', params: { ...VALID, Thumbprint: '$(Remove-Item C:\\)' } },
    ],
  },
];

describeStepContract('Set-HttpsListener', { step: 'ensureHttpsListener', cases: CASES });
