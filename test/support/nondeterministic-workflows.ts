/**
 * Test-only workflow code: the product's workflows, except that certificate rotation first calls an
 * activity no recorded history holds. Replaying a recorded rotation against this must fail, which
 * shows that test/histories-replay.test.ts would catch a change that breaks rotations in flight.
 */
import { proxyActivities } from '@temporalio/workflow';
import { rotateCertificates as recordedRotation } from '../../workflows';

export { auditFleet, onboardFleet, onboardServer, planFleet, planServer } from '../../workflows';

const { stepInsertedBeforeRotation } = proxyActivities<{ stepInsertedBeforeRotation(): Promise<void> }>({
  startToCloseTimeout: '1 minute',
});

export async function rotateCertificates(
  ...args: Parameters<typeof recordedRotation>
): ReturnType<typeof recordedRotation> {
  await stepInsertedBeforeRotation();
  return recordedRotation(...args);
}
