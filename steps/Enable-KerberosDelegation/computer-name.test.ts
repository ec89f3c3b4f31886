/**
 * The fleet file maps every server to its own computer object: a NetBIOS name keeps only the first 15
 * characters of the host name, so two long names can land on one `NAME$`, and delegation set for one
 * server would then be set on the other's object (or neither's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateFleet } from '../../domain/fleet';

const file = (servers: unknown[]) => ({
  fleet: 'names',
  serviceAccount: 'CORP\\monosync_svc',
  monosyncServers: ['10.0.0.10'],
  approvers: ['alice'],
  approvals: 'unsigned',
  servers,
});

void describe('computer names in the fleet file', () => {
  void it('a host name longer than 15 characters maps to its first 15, as Windows joins it', () => {
    const result = validateFleet(file(['exchange-mailbox-01.corp.example']));
    assert.ok(result.ok);
    assert.equal(result.spec.servers[0].computerName, 'EXCHANGE-MAILBO');
  });

  void it('refuses two servers whose names truncate to one computer object, naming both and the fix', () => {
    const result = validateFleet(
      file(['exch01.corp.example', 'exchange-mailbox-01.corp.example', 'exchange-mailbox-02.corp.example'])
    );
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepEqual(result.problems, [
      'servers[2].computerName: exchange-mailbox-02.corp.example and exchange-mailbox-01.corp.example (servers[1]) both map to the computer object EXCHANGE-MAILBO$ (a computer name keeps the first 15 characters of the host name): set computerName: for each of them to its own sAMAccountName without the $',
    ]);
  });

  void it('refuses the same computerName given twice, whatever its case, and one that equals another server’s default', () => {
    const twice = validateFleet(
      file([
        { fqdn: 'exch01.corp.example', computerName: 'EXCHMBX' },
        { fqdn: 'exch02.corp.example', computerName: 'exchmbx' },
        { fqdn: 'exch03.corp.example', computerName: 'EXCH01' },
      ])
    );
    assert.ok(!twice.ok);
    assert.equal(twice.problems.length, 1);
    assert.match(
      twice.problems[0],
      /^servers\[1\]\.computerName: exch02\.corp\.example and exch01\.corp\.example \(servers\[0\]\) both map to the computer object EXCHMBX\$/
    );
    const defaulted = validateFleet(
      file(['exch01.corp.example', { fqdn: 'exch02.corp.example', computerName: 'EXCH01' }])
    );
    assert.ok(!defaulted.ok);
    assert.match(defaulted.problems[0], /EXCH01\$/);
  });

  void it('accepts long names once each has its own computerName', () => {
    const result = validateFleet(
      file([
        { fqdn: 'exchange-mailbox-01.corp.example', computerName: 'EXCHMBX01' },
        { fqdn: 'exchange-mailbox-02.corp.example', computerName: 'EXCHMBX02' },
      ])
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.spec.servers.map((s) => s.computerName),
      ['EXCHMBX01', 'EXCHMBX02']
    );
  });
});
