/** Task queues and deterministic workflow ids: one place, used by workers, workflows and the CLI. */

/** Workflows and the activities that run against Exchange servers or on the worker. */
export const TASK_QUEUE = 'exchange-onboarding';
/**
 * Activities that talk to the domain controllers go to `<task queue>-ad`, served by the AD worker
 * (on the AD management host) whose concurrency is the AD budget.
 */
export function adTaskQueueFor(taskQueue: string): string {
  return `${taskQueue}-ad`;
}
/**
 * Fleet onboarding workflows run on `<task queue>-fleet`, served by a worker of their own beside the
 * main one (workers/create-workers.ts createFleetWorker), so a fleet's workflow tasks have a workflow
 * thread to themselves instead of queueing behind its servers' (README "Benchmark").
 */
export function fleetTaskQueueFor(taskQueue: string): string {
  return `${taskQueue}-fleet`;
}

export function fleetWorkflowId(fleetId: string): string {
  return `fleet/${fleetId}`;
}

/** A batch of a large fleet (domain/batches.ts), a child of the fleet's workflow; `index` counts from 0. */
export function fleetBatchWorkflowId(fleetId: string, index: number): string {
  return `${fleetWorkflowId(fleetId)}/batch-${index + 1}`;
}

/** Whether `workflowId` names one of the fleet's batches. */
export function isFleetBatchWorkflowId(workflowId: string, fleetId: string): boolean {
  const prefix = `${fleetWorkflowId(fleetId)}/batch-`;
  return workflowId.startsWith(prefix) && /^[1-9][0-9]{0,5}$/.test(workflowId.slice(prefix.length));
}

/**
 * One onboarding per Exchange server at a time, whichever fleet lists it: the id is derived from the
 * server alone, so a second start (same fleet again, or another fleet naming the server) finds it running.
 */
export function serverWorkflowId(fqdn: string): string {
  return `onboard/${fqdn}`;
}

export function fqdnOfServerWorkflowId(workflowId: string): string {
  return workflowId.replace(/^onboard\//, '');
}

export function planWorkflowId(fleetId: string): string {
  return `plan/${fleetId}`;
}

export function rotationWorkflowId(fleetId: string): string {
  return `rotate-certificates/${fleetId}`;
}

export function rotationScheduleId(fleetId: string): string {
  return `rotate-certificates/${fleetId}`;
}

export function auditWorkflowId(fleetId: string): string {
  return `audit/${fleetId}`;
}
