/**
 * How a large fleet is split into batches (settings.batchSize): contiguous slices of its server list,
 * run side by side, each with its share of `maxParallel`. Used by the fleet workflow and its tests.
 */

export interface FleetBatch {
  /** 0-based; the batch's workflow id counts from 1 (domain/ids.ts fleetBatchWorkflowId). */
  index: number;
  /** The slice of the fleet's servers, `from` inclusive, `to` exclusive. */
  from: number;
  to: number;
  /** This batch's share of the fleet's maxParallel; the shares add up to it. */
  maxParallel: number;
}

/**
 * The batches of a fleet of `servers` servers, or none when it fits one batch (or predates batches:
 * `batchSize` undefined). Never more batches than slots, so each has one at least; then batches hold
 * more than `batchSize` (and may continue as new).
 */
export function planBatches(servers: number, maxParallel: number, batchSize: number | undefined): FleetBatch[] {
  if (batchSize === undefined || servers <= batchSize) return [];
  const count = Math.min(Math.ceil(servers / batchSize), maxParallel);
  if (count < 2) return [];
  const base = Math.floor(maxParallel / count);
  return Array.from({ length: count }, (_, index) => ({
    index,
    from: Math.floor((index * servers) / count),
    to: Math.floor(((index + 1) * servers) / count),
    maxParallel: base + (index < maxParallel % count ? 1 : 0),
  }));
}
