/**
 * How a large fleet is split into batches (settings.batchSize): contiguous slices of its server list,
 * run a few at a time, each with its lane's share of `maxParallel`. Used by the fleet workflow and its tests.
 */

/**
 * Batches that run at once. Few: each then has enough slots that one running behind keeps the domain
 * controllers busy to the end; its children's events arrive often enough to share workflow tasks (at
 * N = 1,000, 4 batches at once took 1,457 fleet workflow tasks where one fleet run took 730); and the
 * worker holds a few batches' children at a time, not the fleet's (a run keeps a record of every
 * child it started until it closes).
 */
export const MAX_CONCURRENT_BATCHES = 2;

export interface FleetBatch {
  /** 0-based; the batch's workflow id counts from 1 (domain/ids.ts fleetBatchWorkflowId). */
  index: number;
  /** The slice of the fleet's servers, `from` inclusive, `to` exclusive. */
  from: number;
  to: number;
}

export interface BatchPlan {
  batches: FleetBatch[];
  /** Each lane's share of maxParallel (they add up to it): a lane runs one batch after another. */
  lanes: number[];
}

/**
 * The batches of a fleet of `servers` servers, or none when it fits one batch (or predates batches:
 * `batchSize` undefined). Slices differ in size by one server at most, and are no larger than `batchSize`.
 */
export function planBatches(servers: number, maxParallel: number, batchSize: number | undefined): BatchPlan {
  if (batchSize === undefined || servers <= batchSize) return { batches: [], lanes: [] };
  const needed = Math.ceil(servers / batchSize);
  const laneCount = Math.min(MAX_CONCURRENT_BATCHES, maxParallel, needed);
  // Every lane runs as many batches: a last batch running alone would hold a lane's share of the slots
  // while the rest stood empty (at N = 5,000, 17 batches in 4 lanes of 25: the last tenth of the run at
  // 20 servers in flight).
  const count = Math.ceil(needed / laneCount) * laneCount;
  const base = Math.floor(maxParallel / laneCount);
  return {
    batches: Array.from({ length: count }, (_, index) => ({
      index,
      from: Math.floor((index * servers) / count),
      to: Math.floor(((index + 1) * servers) / count),
    })),
    lanes: Array.from({ length: laneCount }, (_, lane) => base + (lane < maxParallel % laneCount ? 1 : 0)),
  };
}
