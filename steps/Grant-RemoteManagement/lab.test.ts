/** Grant-RemoteManagement against the lab: a localized group and the service account's name forms. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRunner } from '../../lab/lab-runner';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';

const FQDN = 'exch01.corp.example';

void describe('Grant-RemoteManagement in the lab', () => {
  void it('Grant-RemoteManagement finds the localized group by SID and the member by any name form', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec, { [FQDN]: 'german' });
    const runner = new LabRunner(estate);
    const apply = await runner.run(callFor(spec, 'grantRemoteManagement', 'apply'));
    assert.equal((apply.after as { groupName: string }).groupName, 'Remoteverwaltungsbenutzer');
    const upn = await runner.run({
      ...callFor(spec, 'grantRemoteManagement', 'plan'),
      params: { Member: 'monosync_svc@corp.example' },
    });
    assert.equal(upn.changed, false, 'CORP\\monosync_svc and monosync_svc@corp.example are one account');
  });
});
