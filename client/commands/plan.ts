/** `fleet plan <file>`: the read-only plan of every server; changes nothing. */
import { planWorkflowId } from '../../domain/ids';
import type { FleetPlan, ServerPlan } from '../../domain/plan';
import { planFleet, type planServer } from '../../workflows';
import type { CliContext } from '../connect';
import { readFleetFile } from '../fleet-file';
import { planTable } from '../views';

/** Each server's plan from its child workflow's result, a few at a time. */
async function serverPlans(ctx: CliContext, ids: string[]): Promise<ServerPlan[]> {
  const out: ServerPlan[] = new Array(ids.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const index = next++;
      out[index] = await ctx.client.workflow.getHandle<typeof planServer>(ids[index]).result();
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return out;
}

export async function planCommand(ctx: CliContext, file: string, opts: { json: boolean }): Promise<number> {
  const spec = readFleetFile(file);
  const run = await ctx.client.workflow.execute(planFleet, {
    workflowId: `${planWorkflowId(spec.fleetId)}/${Date.now()}`,
    taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
    args: [{ spec }],
    staticSummary: `Plan (read-only) for fleet ${spec.fleetId}`,
  });
  const plan: FleetPlan = { fleetId: run.fleetId, servers: await serverPlans(ctx, run.serverPlanIds) };
  console.log(opts.json ? JSON.stringify(plan, null, 2) : planTable(plan));
  return 0;
}
