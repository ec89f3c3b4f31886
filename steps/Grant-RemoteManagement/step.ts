/** Manual step 1: the Monosync service account in the local group Remote Management Users (S-1-5-32-580). */
import { lazySchema } from '../../domain/lazy-schema';
import { accountSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const remoteManagementStateSchema = lazySchema((z) =>
  z.object({
    member: z.boolean(),
    groupName: z.string(),
    endpointAllowsGroup: z.boolean(),
    networkDenied: z.boolean(),
  })
);

export const step = defineStep({
  definition: {
    id: 'grantRemoteManagement',
    title: 'Service account in Remote Management Users',
    short: 'RMU',
    manual: '1',
    script: 'Grant-RemoteManagement',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: false,
  },
  state: remoteManagementStateSchema,
  params: lazySchema((z) => z.strictObject({ Member: accountSchema })),
  paramsFor: (_server, context) => ({ Member: context.serviceAccount }),
  risk: null,
  hooks: {},
});
