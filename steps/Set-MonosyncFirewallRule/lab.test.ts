/** Set-MonosyncFirewallRule against the lab: an existing rule is brought to the Monosync servers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRunner } from '../../lab/lab-runner';
import { callFor, estateFor, fleet, MONOSYNC } from '../../test/lab-fixtures';

const FQDN = 'exch01.corp.example';

void describe('Set-MonosyncFirewallRule in the lab', () => {
  void it('Set-MonosyncFirewallRule narrows a rule that is too wide', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec);
    estate
      .host(FQDN)
      .firewall.rules.push({ name: 'Monosync-WinRM-In', enabled: true, localPorts: [5986], remoteAddresses: ['Any'] });
    const apply = await new LabRunner(estate).run(callFor(spec, 'openFirewall', 'apply'));
    assert.equal(apply.changed, true);
    assert.deepEqual(
      estate.host(FQDN).firewall.rules.find((r) => r.name === 'Monosync-WinRM-In')?.remoteAddresses,
      MONOSYNC
    );
  });
});
