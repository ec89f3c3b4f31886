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

/** The script's message: which policy owns the list, and the fix. */
const POLICY_MESSAGE =
  "TrustedHosts is set by the Group Policy 'Windows Remote Management (WinRM) > WinRM Client > Trusted Hosts' " +
  '(HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Client): a local change would be ' +
  'reverted at the next refresh. Add the entries to that policy, or set it to Not Configured, then retry';

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

/**
 * The list without this step's own entries (those of `entries` the saved list did not hold), keeping
 * everything anybody added since. When the step had replaced the list with `*` and it is still exactly
 * `*`, the saved list comes back whole. As the script's Get-RollbackValue.
 */
export function withoutOwnEntries(current: string, saved: string, entries: readonly string[]): string {
  const savedList = split(saved);
  if (savedList.includes('*')) return current;
  const had = new Set(savedList.map((e) => e.toLowerCase()));
  const own = new Set(entries.filter((e) => !had.has(e.toLowerCase())).map((e) => e.toLowerCase()));
  const currentList = split(current);
  if (own.has('*') && currentList.length === 1 && currentList[0] === '*') return saved;
  const keep = currentList.filter((e) => !own.has(e.toLowerCase()));
  return keep.length === currentList.length ? current : keep.join(',');
}

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
  // Only this step's own entries go: anything added meanwhile by someone else stays (as the script does).
  restore(_ctx, params, current, target) {
    if (!SAVED_VALUE.test(target.value)) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved value is not a TrustedHosts list`
      );
    }
    return towards(current, withoutOwnEntries(current.value, target.value, params.Entries));
  },
};

export const setTrustedHostsLab: Handler = (ctx) => runStateStep(model, ctx);
