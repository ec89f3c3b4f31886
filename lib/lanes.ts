/**
 * Bounded concurrency without timers or I/O, so workflows (deterministic) and the CLI and activities
 * share it: `width` lanes side by side, each taking the next item until none is left or `stop()` says so.
 */

interface LaneOptions {
  /** How many items are in flight at most. */
  width: number;
  /** Index of the first item to take (a workflow's cursor carried across continue-as-new). */
  start?: number;
  /** Checked before each item is taken; true leaves the rest for later. */
  stop?: () => boolean;
}

/** Runs `fn` over `items` in lanes; resolves with the index of the first item not taken. */
export async function inLanes<T>(
  items: readonly T[],
  options: LaneOptions,
  fn: (item: T, index: number) => Promise<void>
): Promise<number> {
  let next = options.start ?? 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !options.stop?.()) {
      const index = next++;
      await fn(items[index], index);
    }
  };
  const width = Math.max(1, Math.min(options.width, items.length - next));
  await Promise.all(Array.from({ length: width }, lane));
  return next;
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the items' order. */
export async function mapInLanes<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  await inLanes(items, { width: limit }, async (item, index) => {
    out[index] = await fn(item);
  });
  return out;
}
