/** Set-TrustedHosts' risk rule: only adding a wildcard needs approval. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessRisk } from '../../domain/risk';
import { RISK_CONTEXT as ctx } from '../../test/support/risk';

describe('Set-TrustedHosts risk rule', () => {
  it('only a wildcard that is added needs approval', () => {
    const add = (from: string, to: string) =>
      assessRisk(ctx, {
        step: 'setTrustedHosts',
        before: { value: from, policyControlled: false },
        after: { value: to, policyControlled: false },
      });
    assert.equal(add('', '*')?.text, "EXCH01: TrustedHosts '' -> '*'");
    assert.equal(add('', '*.corp.example')?.kind, 'trusted-hosts-wildcard');
    assert.equal(add('', 'monosync01.corp.example'), null);
    assert.equal(add('*.corp.example', '*.corp.example,10.0.0.1'), null);
  });
});
