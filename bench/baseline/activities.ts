/**
 * The baseline's one activity: a remote call that only takes time, counted the way the lab counts
 * the product's calls (distinct servers with a call in progress), so both runs report servers in
 * flight alike.
 */
export class InFlightServers {
  private readonly servers = new Map<string, number>();
  max = 0;
  /** Remote calls begun (one per baseline step), for the bench's watchdog. */
  calls = 0;
  get count(): number {
    return this.servers.size;
  }
  enter(server: string): void {
    this.calls += 1;
    this.servers.set(server, (this.servers.get(server) ?? 0) + 1);
    this.max = Math.max(this.max, this.servers.size);
  }
  /** Starts the counts again (calls in progress stay in flight). */
  reset(): void {
    this.calls = 0;
    this.max = this.servers.size;
  }
  leave(server: string): void {
    const left = (this.servers.get(server) ?? 1) - 1;
    if (left === 0) this.servers.delete(server);
    else this.servers.set(server, left);
  }
}

export function createBaselineActivities(inFlight: InFlightServers) {
  return {
    async remoteCall(input: { server: string; sleepMs: number }): Promise<void> {
      inFlight.enter(input.server);
      try {
        await new Promise((r) => setTimeout(r, input.sleepMs));
      } finally {
        inFlight.leave(input.server);
      }
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
