/**
 * The shape of the bare-SDK baseline: what one server costs in remote time, step by step, as the
 * product's lab run measured it (calls of each step × latency), and which steps go to the AD queue.
 */
export interface BaselineStep {
  /** The product step it stands for (the script name), for the report. */
  name: string;
  /** Remote time of the step on one server: its calls × the lab latency. */
  sleepMs: number;
  /** Runs on the AD task queue (whose worker's concurrency is the AD budget), as the product routes it. */
  ad: boolean;
}

export interface BaselineFleetInput {
  servers: string[];
  maxParallel: number;
  steps: BaselineStep[];
  /** The main task queue; AD steps go to `<taskQueue>-ad`, as in the product. */
  taskQueue: string;
}

export interface BaselineServerInput {
  server: string;
  steps: BaselineStep[];
  adTaskQueue: string;
}
