/**
 * Read-only drift audit: every server's every step in plan mode, compared with the onboarded state.
 * A step that would change (or an acceptance check that fails) is drift; nothing is changed.
 */
import * as wf from '@temporalio/workflow';
import { contextOf } from '../domain/onboarding';
import { auditWorkflowId } from '../domain/ids';
import type { AuditReport, AuditRunInput } from '../domain/rotation';
import { planServer } from './plan-fleet';
import { inLanes } from '../lib/lanes';
import { continueAsNewDue } from './history-budget';
import { FleetKey, ServerKey } from '../domain/search-attributes';
import { code } from './render';

export async function auditFleet(input: AuditRunInput): Promise<AuditReport> {
  const { spec } = input;
  const context = contextOf(spec);
  const report: AuditReport = input.carry?.report ?? {
    fleetId: spec.fleetId,
    drifted: {},
    compliant: [],
    notApplicable: [],
  };
  // Findable by the fleet filter of the Web UI however it was started; behind a patch, as runs
  // recorded before it have no such command.
  if (wf.workflowInfo().typedSearchAttributes.get(FleetKey) === undefined && wf.patched('audit-fleet-attribute')) {
    wf.upsertSearchAttributes([{ key: FleetKey, value: spec.fleetId }]);
  }
  // Plan ids carry the first run's id, so a scheduled audit and a manual one never collide.
  const runTag = input.carry?.runTag ?? wf.workflowInfo().runId.slice(0, 8);
  const next = await inLanes(
    spec.servers,
    {
      width: spec.settings.maxParallel,
      start: input.carry?.cursor ?? 0,
      stop: () => continueAsNewDue(spec.settings.historyEventBudget),
    },
    async (server) => {
      const plan = await wf.executeChild(planServer, {
        workflowId: `${auditWorkflowId(spec.fleetId)}/${runTag}/${server.fqdn}`,
        args: [server, context, spec.fleetId],
        staticSummary: `Audit ${server.computerName} (${server.fqdn}) for fleet ${spec.fleetId}: read only`,
        typedSearchAttributes: [
          { key: FleetKey, value: spec.fleetId },
          { key: ServerKey, value: server.fqdn },
        ],
      });
      if (!plan.applicable) {
        report.notApplicable.push(server.fqdn);
        return;
      }
      const findings = plan.steps
        .filter((s) => s.status === 'would-change' || s.status === 'failed' || s.drift)
        .map((s) => ({ step: s.step, summary: s.drift ?? s.summary }));
      if (findings.length > 0) report.drifted[server.fqdn] = findings;
      else report.compliant.push(server.fqdn);
    }
  );
  if (next < spec.servers.length) {
    return wf.continueAsNew<typeof auditFleet>({ spec, carry: { cursor: next, runTag, report } });
  }
  wf.setCurrentDetails(
    `Audit of fleet ${code(spec.fleetId)}: ${Object.keys(report.drifted).length} drifted, ${report.compliant.length} compliant, ${report.notApplicable.length} not applicable`
  );
  return report;
}
