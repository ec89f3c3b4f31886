/**
 * The baseline the benchmark measures the product against: a plain fan-out written with the bare SDK
 * and nothing else. A parent keeps `maxParallel` child workflows running (starting the next as one
 * ends); each child runs the steps as sleeping activities, one after another. No signals, queries,
 * search attributes, details, approvals or continue-as-new: what Temporal itself costs for the shape.
 */
import * as wf from '@temporalio/workflow';
import type { BaselineActivities } from './activities';
import type { BaselineFleetInput, BaselineServerInput } from './shape';

export async function baselineServer(input: BaselineServerInput): Promise<void> {
  const main = wf.proxyActivities<BaselineActivities>({ startToCloseTimeout: '10 minutes' });
  const ad = wf.proxyActivities<BaselineActivities>({
    startToCloseTimeout: '10 minutes',
    taskQueue: input.adTaskQueue,
  });
  for (const step of input.steps) {
    await (step.ad ? ad : main).remoteCall({ server: input.server, sleepMs: step.sleepMs });
  }
}

export async function baselineFleet(input: BaselineFleetInput): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < input.servers.length) {
      const server = input.servers[next++];
      await wf.executeChild(baselineServer, {
        workflowId: `baseline/${server}`,
        args: [{ server, steps: input.steps, adTaskQueue: `${input.taskQueue}-ad` }],
        parentClosePolicy: wf.ParentClosePolicy.ABANDON,
      });
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxParallel, input.servers.length) }, lane));
  return done;
}
