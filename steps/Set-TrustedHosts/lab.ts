/**
 * Set-TrustedHosts: a machine-wide WinRM client setting, on the Exchange server or on the worker
 * (wherever the policy says). Required entries are merged into the existing list, never replacing
 * entries someone else relies on; `*` alone means everything and can only stand alone.
 */
import type { z } from 'zod';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

const POLICY_MESSAGE =
  'The config setting TrustedHosts cannot be changed because is controlled by policies. The policy would need ' +
  'to be set to "Not Configured" in order to change the config setting.';

function setting(ctx: HandlerContext): { value: string; policyControlled: boolean } {
  if (ctx.call.target.host === 'worker') return ctx.worker.trustedHosts;
  return ctx.host(ctx.subject).trustedHosts;
}

export function readTrustedHosts(value: { value: string; policyControlled: boolean }): State {
  return { value: value.value, policyControlled: value.policyControlled };
}

function split(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** Union, keeping the existing spelling and order, new entries appended. */
export function mergeTrustedHosts(current: string, required: readonly string[]): string {
  const existing = split(current);
  if (existing.includes('*')) return '*';
  if (required.includes('*')) return '*';
  const seen = new Set(existing.map((e) => e.toLowerCase()));
  const added = required.filter((e) => !seen.has(e.toLowerCase()) && seen.add(e.toLowerCase()));
  return [...existing, ...added].join(',');
}

/**
 * What a saved TrustedHosts value can hold (names, addresses, patterns such as `192.168.1.*`, `<local>`,
 * `[fe80::1%3]`, separated by commas and spaces): the script refuses to write back anything else, never
 * quotes or control characters, so a rollback can carry no hostile value to WinRM.
 */
const SAVED_VALUE = /^[A-Za-z0-9.*:_<>[\]%, -]*$/;

function towards(before: State, value: string) {
  if (before.value === value) return { state: before };
  if (before.policyControlled) return fail('PolicyControlled', POLICY_MESSAGE);
  return { state: { ...before, value } };
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx) => readTrustedHosts(setting(ctx)),
  desire: (_ctx, params, before) => towards(before, mergeTrustedHosts(before.value, params.Entries)),
  write(ctx, _params, _from, to) {
    setting(ctx).value = to.value;
  },
  // Written back verbatim: entries added meanwhile by someone else are theirs to keep only if they
  // were there before this step ran, which is exactly what `before` recorded.
  restore(_ctx, _params, current, target) {
    if (!SAVED_VALUE.test(target.value)) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved value is not a TrustedHosts list`
      );
    }
    return towards(current, target.value);
  },
};

export const setTrustedHostsLab: Handler = (ctx) => runStateStep(model, ctx);
