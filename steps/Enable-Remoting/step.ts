/** Manual step 3.1: PowerShell remoting enabled and the WinRM service running (what Enable-PSRemoting does). */
import type { z } from 'zod';
import { lazySchema } from '../../domain/lazy-schema';
import { defineStep } from '../step-module';

export const remotingStateSchema = lazySchema((z) =>
  z.object({
    serviceStatus: z.string(),
    startType: z.string(),
    listeners: z.array(z.object({ transport: z.string(), port: z.number() })),
    /** The Microsoft.PowerShell endpoint (the one Monosync connects to) is enabled; other endpoints do not count. */
    endpointsEnabled: z.boolean(),
  })
);

/**
 * Group Policy over the WinRM service that the steps do not fight (powershell/MonosyncCommon.ps1
 * Get-WinRMListenerPolicy, Get-WinRMStartPolicy); the snapshot reports it.
 */
export const winrmPolicySchema = lazySchema((z) =>
  z.object({
    /**
     * 'Allow remote server management through WinRM' enabled (AllowAutoConfig 1): WinRM listens only on the
     * addresses its filters match, an empty filter on none of that family; null = not enabled.
     */
    listener: z.object({ ipv4Filter: z.string(), ipv6Filter: z.string() }).nullable(),
    /** A 'System Services' entry that sets WinRM's start type at every refresh (RSoP), and its GPO; null = none. */
    serviceStartType: z.object({ startType: z.string(), gpo: z.string() }).nullable(),
  })
);
export type WinrmPolicy = z.infer<typeof winrmPolicySchema>;

export const step = defineStep({
  definition: {
    id: 'enableRemoting',
    title: 'PowerShell remoting and the WinRM service',
    short: 'remoting',
    manual: '3.1',
    script: 'Enable-Remoting',
    runsOn: 'exchange',
    readOnly: false,
    // The WinRM restart of enabling remoting runs in a scheduled task after the script has returned, so
    // the apply's own session is never cut. The restart that follows is ridden out by retrying: every mode
    // fails as WinRMUnavailable (transient) while the task is still to run or WinRM does not answer, and
    // the retried activity finds the change made (its heartbeat checkpoint keeps the state before it).
    cutsConnection: false,
  },
  state: remotingStateSchema,
  params: lazySchema((z) => z.strictObject({})),
  paramsFor: () => ({}),
  risk: null,
  hooks: {},
});
