/** Manual step 3.4: WinRM's CbtHardeningLevel; `None` waits for a second person. */
import { lazySchema } from '../../domain/lazy-schema';
import { CBT_LEVELS } from '../../domain/fleet';
import { defineStep } from '../step-module';

export const cbtStateSchema = lazySchema((z) => z.object({ level: z.string(), policyControlled: z.boolean() }));

export const step = defineStep({
  definition: {
    id: 'setCbtHardening',
    title: 'WinRM CbtHardeningLevel',
    short: 'cbt',
    manual: '3.4',
    script: 'Set-CbtHardening',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: true,
  },
  state: cbtStateSchema,
  params: lazySchema((z) => z.strictObject({ Level: z.enum(CBT_LEVELS) })),
  paramsFor: (_server, context) => ({ Level: context.policy.cbtHardeningLevel }),
  risk: {
    rule: {
      kind: 'cbt-none',
      title: 'CbtHardeningLevel None',
      reason:
        'None accepts a wrong channel-binding token, which removes NTLM relay protection on the HTTPS listener. ' +
        'The default Relaxed already accepts clients that send no token.',
      saferAlternative: 'keep Relaxed (policy.cbtHardeningLevel: Relaxed), or Strict when the client sends CBT',
    },
    assess: (before, after) =>
      after.level === 'None' && before.level !== 'None'
        ? { label: 'CbtHardeningLevel', from: before.level, to: after.level }
        : null,
  },
  hooks: {},
});
