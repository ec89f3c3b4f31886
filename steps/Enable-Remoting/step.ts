/** Manual step 3.1: PowerShell remoting enabled and the WinRM service running (Enable-PSRemoting). */
import { z } from 'zod';
import { defineStep } from '../step-module';

export const remotingStateSchema = z.object({
  serviceStatus: z.string(),
  startType: z.string(),
  listeners: z.array(z.object({ transport: z.string(), port: z.number() })),
  endpointsEnabled: z.boolean(),
});

export const step = defineStep({
  definition: {
    id: 'enableRemoting',
    title: 'PowerShell remoting and the WinRM service',
    short: 'remoting',
    manual: '3.1',
    script: 'Enable-Remoting',
    runsOn: 'exchange',
    readOnly: false,
    // Enable-PSRemoting restarts WinRM under the session that runs it.
    cutsConnection: true,
  },
  state: remotingStateSchema,
  params: z.strictObject({}),
  paramsFor: () => ({}),
  risk: null,
  hooks: {},
});
