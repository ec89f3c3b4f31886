/** Runs one certificate rotation of a fleet to its end on the test's worker (tests and recorded histories). */
import type { FleetSpec } from '../../domain/fleet';
import { rotationWorkflowId } from '../../domain/ids';
import type { RotationReport } from '../../domain/rotation';
import { rotateCertificates } from '../../workflows';
import type { TestEnv } from './temporal';

/** `suffix` tells apart several runs of one fleet (`rotate-certificates/<fleet>/<suffix>`). */
export function executeRotation(
  env: TestEnv,
  spec: FleetSpec,
  opts: { suffix?: string; requestedBy?: string } = {}
): Promise<RotationReport> {
  const base = rotationWorkflowId(spec.fleetId);
  return env.client.workflow.execute(rotateCertificates, {
    workflowId: opts.suffix ? `${base}/${opts.suffix}` : base,
    taskQueue: env.taskQueue,
    args: [{ spec, requestedBy: opts.requestedBy ?? 'carol' }],
  });
}
