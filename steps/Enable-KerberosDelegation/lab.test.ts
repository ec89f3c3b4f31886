/** Enable-KerberosDelegation against the lab: how the server's AD computer object is found. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estateFor, fleet } from '../../test/lab-fixtures';

const FQDN = 'exch01.corp.example';

void describe('Enable-KerberosDelegation in the lab', () => {
  void it('the AD object lives in its own OU and is found by sAMAccountName, case-insensitively', () => {
    const estate = estateFor(fleet([FQDN]));
    const computer = estate.computer('exch01$');
    assert.equal(computer?.distinguishedName, 'CN=EXCH01,OU=Exchange Servers,OU=Servers,DC=corp,DC=example');
    assert.equal(computer?.samAccountName, 'EXCH01$');
  });
});
