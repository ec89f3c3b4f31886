/**
 * The product's own metrics that only workflows know: each server's phase and its pending approvals.
 * They go through the SDK's workflow metric meter, which the worker exports on its Prometheus endpoint
 * (workers/metrics.ts). The meter sends nothing while a workflow replays, and emitting creates no
 * command, so these calls never touch determinism or history.
 *
 * Gauges are per server (labels `fleet`, `server`): the server workflow is the one place that knows its
 * phase (the fleet does not see awaiting-approval) and its pending changes. Dashboards sum them by fleet
 * and phase; README "Metrics" has the queries and the limits (a gauge is set when the state changes).
 */
import * as wf from '@temporalio/workflow';
import type { ServerPhase } from '../domain/status';

/** Metric names, shared with the README's queries and the metrics test. */
export const SERVER_PHASE_METRIC = 'monosync_server_phase';
export const APPROVALS_PENDING_METRIC = 'monosync_approvals_pending';

interface ServerMetricsView {
  fleetId: string;
  fqdn: string;
  phase: ServerPhase;
  pendingApprovals: readonly unknown[];
}

/**
 * Call where a server's phase is about to change, before `status.phase` takes `next`: the old phase's
 * series drops to 0 and the new one reads 1, so summing by phase counts every server once.
 */
export function reportServerPhase(status: ServerMetricsView, next: ServerPhase): void {
  const tags = { fleet: status.fleetId, server: status.fqdn };
  const phase = wf.metricMeter.createGauge(
    SERVER_PHASE_METRIC,
    'int',
    undefined,
    'Servers in each onboarding phase: 1 for the phase a server is in, 0 for the one it left'
  );
  if (status.phase !== next) phase.set(0, { ...tags, phase: status.phase });
  phase.set(1, { ...tags, phase: next });
  wf.metricMeter
    .createGauge(APPROVALS_PENDING_METRIC, 'int', undefined, 'Risky changes of a server waiting for a decision')
    .set(status.pendingApprovals.length, tags);
}
