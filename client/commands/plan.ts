/** `fleet plan <file>`: the read-only plan of every server; changes nothing. */
import { planWorkflowId } from '../../domain/ids';
import type { FleetPlan } from '../../domain/plan';
import { mapInLanes } from '../../lib/lanes';
import { planFleet, type planServer } from '../../workflows';
import type { CliContext } from '../connect';
import { readFleetFile } from '../fleet-file';
import { CLI_CONCURRENCY } from '../fleet-handles';
import { planTable } from '../views';

export async function planCommand(ctx: CliContext, file: string, opts: { json: boolean }): Promise<number> {
  const spec = readFleetFile(file);
  const run = await ctx.client.workflow.execute(planFleet, {
    workflowId: `${planWorkflowId(spec.fleetId)}/${Date.now()}`,
    taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
    args: [{ spec }],
    staticSummary: `Plan (read-only) for fleet ${spec.fleetId}`,
  });
  const plan: FleetPlan = {
    fleetId: run.fleetId,
    servers: await mapInLanes(run.serverPlanIds, CLI_CONCURRENCY, (id) =>
      ctx.client.workflow.getHandle<typeof planServer>(id).result()
    ),
  };
  console.log(opts.json ? JSON.stringify(plan, null, 2) : planTable(plan));
  return 0;
}
