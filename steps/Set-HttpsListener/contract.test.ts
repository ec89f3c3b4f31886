/**
 * Set-HttpsListener.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1: host.listeners as
 * Get-WSManInstance enumerates them, host.certificates as Cert:\LocalMachine\My) and the lab handler return
 * equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the same state. See
 * test/support/script-contract.ts for what is compared.
 *
 * Not in the table: a certificate that names the server only in its SAN (Exchange's own self-signed one,
 * CN=<computer name>). Both pick it today; WinRM refuses it at apply (0x803380E9, the CN must match the
 * listener's Hostname), which LabSeam models and the lab does not yet: the strict CN rule is a separate
 * change (steps/Set-HttpsListener/Set-HttpsListener.Tests.ps1 checks the script's side).
 */
import assert from 'node:assert/strict';
import type { LabEstate } from '../../lab/estate';
import { thumbprintFor } from '../../lab/identity';
import type { LabHost } from '../../lab/model';
import { CONTRACT_FQDN, type ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const certificate = (c: Record<string, unknown>) => ({ certificate: c });
const VALID = { Fqdn: 'exch01.corp.example', MinDaysLeft: 30, Issuers: [], AllowSelfSigned: false };
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
    name: 'absent, an empty store, self-signed allowed (issued at apply)',
    policy: certificate({ allowSelfSigned: true }),
    arrange: (e, fqdn) => void (e.host(fqdn).certificates = []),
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
    name: 'rollback to no listener when Group Policy set one is refused',
    arrange: (e, fqdn) => bind(e, fqdn, { source: 'GPO' }),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { listener: null, certificate: null } } }],
  },
  {
    name: 'Issuers empty, null or hostile; Fqdn, MinDaysLeft, AllowSelfSigned of the wrong type',
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
      { label: 'apply, AllowSelfSigned as text', mode: 'apply', params: { ...VALID, AllowSelfSigned: 'false' } },
      { label: 'apply, hostile Thumbprint', mode: 'apply', params: { ...VALID, Thumbprint: '$(Remove-Item C:\\)' } },
    ],
  },
];

describeStepContract('Set-HttpsListener', { step: 'ensureHttpsListener', cases: CASES });
