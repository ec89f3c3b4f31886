/**
 * The worker's Prometheus endpoint: the SDK runtime's metrics (task slots, polls, latencies, failures)
 * and the product's own (workflows/metrics.ts, activities/metrics.ts) on one `/metrics` page. Off unless
 * the environment names a port or an address; README "Metrics" has the scrape config.
 */
import type { RuntimeOptions } from '@temporalio/worker';
import { z } from 'zod';
import { formatIssues } from '../domain/issues';

const port = z.coerce.number().int().min(1).max(65535);

const metricsEnvSchema = z
  .object({
    /** Port on every interface (`0.0.0.0:<port>`), the usual choice for a Prometheus on another host. */
    FLEET_METRICS_PORT: port.optional(),
    /** `host:port` to bind to instead, e.g. `127.0.0.1:9464` to serve this host only. */
    FLEET_METRICS_ADDRESS: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be host:port, e.g. 127.0.0.1:9464' })
      .refine((a) => port.safeParse(a.slice(a.lastIndexOf(':') + 1)).success, { error: 'port must be 1-65535' })
      .optional(),
  })
  .refine((e) => !(e.FLEET_METRICS_PORT !== undefined && e.FLEET_METRICS_ADDRESS !== undefined), {
    error: 'set FLEET_METRICS_PORT or FLEET_METRICS_ADDRESS, not both',
    path: ['FLEET_METRICS_ADDRESS'],
  });

/** Where the metrics endpoint listens; `undefined` when metrics are off. */
export function metricsBindAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const parsed = metricsEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n  ${formatIssues(parsed.error.issues).join('\n  ')}`);
  }
  const { FLEET_METRICS_PORT, FLEET_METRICS_ADDRESS } = parsed.data;
  return FLEET_METRICS_ADDRESS ?? (FLEET_METRICS_PORT !== undefined ? `0.0.0.0:${FLEET_METRICS_PORT}` : undefined);
}

/**
 * Runtime options that export metrics on `bindAddress` (`Runtime.install` takes them once per process,
 * before any connection). The SDK's defaults stay (prefix `temporal_`, no `_total` suffix, milliseconds),
 * so Temporal's published SDK dashboards read these metrics as they are.
 */
export function metricsRuntimeOptions(bindAddress: string): Pick<RuntimeOptions, 'telemetryOptions'> {
  return { telemetryOptions: { metrics: { prometheus: { bindAddress } } } };
}
