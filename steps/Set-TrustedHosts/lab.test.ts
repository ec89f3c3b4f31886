/** Set-TrustedHosts against the lab: the configured hosts are merged into an existing list. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRunner } from '../../lab/lab-runner';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';

const FQDN = 'exch01.corp.example';

void describe('Set-TrustedHosts in the lab', () => {
  void it("Set-TrustedHosts merges into the existing list and keeps others' entries", async () => {
    const spec = fleet([FQDN], { trustedHosts: { applyOn: 'exchange', value: ['a.corp.example', 'b.corp.example'] } });
    const estate = estateFor(spec);
    estate.host(FQDN).trustedHosts.value = 'legacy.corp.example,A.corp.example';
    const apply = await new LabRunner(estate).run(callFor(spec, 'setTrustedHosts', 'apply'));
    assert.equal((apply.after as { value: string }).value, 'legacy.corp.example,A.corp.example,b.corp.example');
  });
});
