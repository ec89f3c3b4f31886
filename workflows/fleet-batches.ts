/**
 * A large fleet (more servers than settings.batchSize): the fleet's workflow starts one batch per slice of
 * its servers (domain/batches.ts), side by side and sharing its maxParallel, each an `onboardFleet` run
 * of its own under it, and answers for the whole fleet: its status and details from the batches'
 * reports, its decisions relayed to them, its result from theirs.
 *
 * Why batches: a fleet run that continues as new while its servers report to it races their reports; a
 * refused end makes the worker replay the whole run (seconds at 3,000 events, on top of a loaded worker).
 * A batch's run ends after its last server, and this run never continues as new (its history grows
 * by a report now and then per batch), so no run ends while servers report to it.
 */
import * as wf from '@temporalio/workflow';
import {
  describeReceived,
  KEPT_REFUSALS,
  keepRefusal,
  kindDecisionInputSchema,
  normaliseRules,
  parseMessage,
  type RefusedDecision,
  type StandingDecision,
} from '../domain/approvals';
import type { BatchPlan, FleetBatch } from '../domain/batches';
import { signingPolicyOf } from '../domain/fleet';
import { fleetBatchWorkflowId } from '../domain/ids';
import { FleetKey } from '../domain/search-attributes';
import { VerificationBudget } from '../domain/signatures';
import {
  batchProgressSchema,
  type BatchProgress,
  type FleetCarry,
  type FleetRunInput,
  type FleetStatus,
  type ServerPhase,
} from '../domain/status';
import { MAX_RELAYED_DECISIONS, validateKindDecision } from './kind-decisions';
import {
  batchProgressSignal,
  batchSlotsSignal,
  decideKindUpdate,
  fleetDecisionsSignal,
  fleetStatusQuery,
  HANDLER_DESCRIPTIONS,
} from './messages';
import type { onboardFleet } from './onboard-fleet';
import { PhaseTally } from './phase-tally';
import { renderFleetDetails } from './render';

export async function onboardFleetInBatches(input: FleetRunInput, plan: BatchPlan): Promise<FleetStatus> {
  const { spec, requestedBy } = input;
  const { batches, lanes } = plan;
  const signing = signingPolicyOf(spec);
  const rules = normaliseRules({ approvers: spec.approvers, requestedBy, signing });
  /** Every server's phase, in the fleet's order; the tally keeps it up to date (status() hands it out as is). */
  const servers: Record<string, ServerPhase> = Object.fromEntries(spec.servers.map((s) => [s.fqdn, 'queued']));
  const phases = new PhaseTally(servers);
  const batchIds = batches.map((b) => fleetBatchWorkflowId(spec.fleetId, b.index));
  /** Each batch's latest report, and its result once it finished. */
  const reports: Array<BatchProgress | undefined> = batches.map(() => undefined);
  const results: Array<FleetStatus | undefined> = batches.map(() => undefined);
  const standingDecisions: StandingDecision[] = [];
  /** Running batches, and how many of the fleet's decisions each has (in its input, or relayed). */
  const relayedUpTo = new Map<number, number>();
  let relaying = false;
  const refused: RefusedDecision[] = [];
  let refusedCount = 0;
  const verificationBudget = new VerificationBudget();

  const status = (): FleetStatus => {
    const seen = batches.map((_, i) => results[i] ?? reports[i]);
    return {
      fleetId: spec.fleetId,
      requestedBy,
      approvals: signing.approvals,
      counts: {
        total: spec.servers.length,
        started: batches.reduce((n, _, i) => n + (results[i]?.counts.started ?? reports[i]?.started ?? 0), 0),
        byPhase: phases.byPhase(),
      },
      servers,
      inFlight: seen.flatMap((r) => r?.inFlight ?? []),
      stoppedReason: seen
        .map((r, i) => (r?.stoppedReason ? `batch ${i + 1}: ${r.stoppedReason}` : undefined))
        .find((r) => r !== undefined),
      waiting: Object.assign({}, ...seen.map((r) => r?.waiting ?? {})) as Record<string, string>,
      standingDecisions,
      refused,
      refusedCount: refusedCount + seen.reduce((n, r) => n + (r?.refusedCount ?? 0), 0),
      run: 1,
      done: results.every((r) => r !== undefined),
      batches: batchIds,
    };
  };
  const refreshDetails = () => wf.setCurrentDetails(renderFleetDetails(status(), wf.workflowInfo().namespace));

  wf.setHandler(fleetStatusQuery, status, { description: HANDLER_DESCRIPTIONS.fleetStatus });
  wf.setHandler(
    batchProgressSignal,
    (raw: unknown) => {
      // Anyone can send it: a report that does not fit its batch is counted and dropped, never thrown.
      const parsed = parseMessage(batchProgressSchema, raw, 'batchProgress');
      const refusal = parsed.ok ? progressRefusal(parsed.value, batches, spec.servers) : parsed.refusal;
      if (refusal || !parsed.ok) {
        const entry = { received: describeReceived(raw), refusal: refusal ?? '', at: new Date().toISOString() };
        refusedCount = keepRefusal(refused, { ...entry, via: 'batchProgress' }, refusedCount);
        if (refusedCount <= KEPT_REFUSALS) wf.log.warn('refused a message', { refusal, via: 'batchProgress' });
        return;
      }
      const report = parsed.value;
      if (results[report.index]) return;
      reports[report.index] = report;
      for (const [fqdn, phase] of Object.entries(report.phases)) phases.set(fqdn, phase);
      refreshDetails();
    },
    { description: HANDLER_DESCRIPTIONS.batchProgress }
  );
  wf.setHandler(
    decideKindUpdate,
    (raw) => {
      // The validator checked the normalised form (lower-cased names); record and relay that form too.
      const d = kindDecisionInputSchema.parse(raw);
      const decision: StandingDecision = { ...d, at: new Date().toISOString() };
      standingDecisions.push(decision);
      return decision;
    },
    {
      validator: (raw) =>
        validateKindDecision(raw, {
          rules,
          signing,
          taken: standingDecisions,
          budget: verificationBudget,
          isServer: (fqdn) => phases.has(fqdn),
        }),
      description: HANDLER_DESCRIPTIONS.decideKind,
    }
  );

  /** Relays the decisions each running batch lacks, in signals of at most MAX_RELAYED_DECISIONS. */
  const behind = () => [...relayedUpTo].filter(([, n]) => n < standingDecisions.length);
  const relayDecisions = async (): Promise<void> => {
    for (;;) {
      await wf.condition(() => behind().length > 0);
      relaying = true;
      const total = standingDecisions.length;
      await Promise.all(
        behind().map(async ([i, from]) => {
          relayedUpTo.set(i, total);
          for (let at = from; at < total; at += MAX_RELAYED_DECISIONS) {
            const decisions = standingDecisions.slice(at, Math.min(total, at + MAX_RELAYED_DECISIONS));
            await wf
              .getExternalWorkflowHandle(batchIds[i])
              .signal(fleetDecisionsSignal, decisions)
              .catch((err) => {
                if (!results[i]) wf.log.warn('could not relay fleet decisions', { batch: i + 1, error: String(err) });
              });
          }
        })
      );
      relaying = false;
    }
  };
  relayDecisions().catch((err: unknown) => {
    // Cancelling the fleet cancels its signals; nothing else can reach here.
    if (!wf.isCancellation(err)) wf.log.error('relaying fleet decisions stopped', { error: String(err) });
  });

  /** Starts a batch with a lane's `share` of the fleet's maxParallel, of which it may use `slots` at first. */
  const startBatch = async (batch: FleetBatch, share: number, slots: number) => {
    const i = batch.index;
    const known = standingDecisions.length;
    const slice = spec.servers.slice(batch.from, batch.to);
    const carry: FleetCarry = {
      cursor: 0,
      servers: Object.fromEntries(slice.map((s) => [s.fqdn, 'queued'])),
      inFlight: [],
      // Taken before the batch started: its servers find them in their input.
      standingDecisions: standingDecisions.slice(0, known),
      run: 1,
    };
    const run = await wf.startChild<typeof onboardFleet>('onboardFleet', {
      workflowId: batchIds[i],
      args: [
        {
          spec: { ...spec, servers: slice, settings: { ...spec.settings, maxParallel: share } },
          requestedBy,
          ...(input.serverTaskQueue ? { serverTaskQueue: input.serverTaskQueue } : {}),
          carry,
          batch: { index: i, count: batches.length, lanes: lanes.length, slots },
        },
      ],
      staticSummary: `Batch ${i + 1} of ${batches.length} of fleet ${spec.fleetId}: servers ${batch.from + 1} to ${batch.to}, at most ${share} at once`,
      typedSearchAttributes: [{ key: FleetKey, value: spec.fleetId }],
    });
    // Decisions taken while it was being started are relayed (relayDecisions).
    relayedUpTo.set(i, known);
    return run;
  };
  const collect = async (i: number, run: wf.ChildWorkflowHandle<typeof onboardFleet>): Promise<void> => {
    const result = await run.result();
    relayedUpTo.delete(i);
    results[i] = result;
    for (const [fqdn, phase] of Object.entries(result.servers)) phases.set(fqdn, phase);
    refreshDetails();
  };
  /** Whether batch i starts no more servers: it finished, started its whole slice, or stopped starting. */
  const drained = (i: number): boolean => {
    const report = reports[i];
    const size = batches[i].to - batches[i].from;
    return results[i] !== undefined || (report !== undefined && (report.started >= size || !!report.stoppedReason));
  };
  /** The lane's slots the batch before does not hold, as its latest report counts its servers in flight. */
  const free = (share: number, before: number): number =>
    results[before] ? share : Math.max(0, share - (reports[before]?.inFlight.length ?? share));
  /** Gives a batch the lane's slots as the batch before it releases them, up to the whole share. */
  const handOver = async (i: number, share: number, before: number, granted: number): Promise<void> => {
    while (granted < share) {
      await wf.condition(() => free(share, before) > granted);
      granted = free(share, before);
      await wf
        .getExternalWorkflowHandle(batchIds[i])
        .signal(batchSlotsSignal, granted)
        .catch((err) => {
          if (!results[i]) wf.log.warn('could not give a batch its slots', { batch: i + 1, error: String(err) });
        });
    }
  };

  refreshDetails();
  // A lane starts its next batch once the one before has started all its servers, so the lane's slots do
  // not stand empty while that one's last servers finish: the next gets them as they free.
  const running: Array<Promise<void>> = [];
  /** Awaited together below; handled at once, so a failure before then is not an unhandled rejection. */
  const track = (p: Promise<void>): void => {
    p.catch(() => undefined);
    running.push(p);
  };
  let next = 0;
  await Promise.all(
    lanes.map(async (share) => {
      let before: number | undefined;
      while (next < batches.length) {
        const batch = batches[next++];
        const b = before;
        if (b !== undefined) await wf.condition(() => drained(b));
        const slots = b === undefined ? share : free(share, b);
        const run = await startBatch(batch, share, slots);
        track(collect(batch.index, run));
        if (b !== undefined) track(handOver(batch.index, share, b, slots));
        before = batch.index;
      }
    })
  );
  await Promise.all(running);
  await wf.condition(() => !relaying && wf.allHandlersFinished());
  refreshDetails();
  return status();
}

/** Why a `batchProgress` does not fit the batch it names, or undefined when it does. */
function progressRefusal(
  report: BatchProgress,
  batches: FleetBatch[],
  servers: ReadonlyArray<{ fqdn: string }>
): string | undefined {
  const batch = batches[report.index];
  if (!batch) return `batchProgress.index: this fleet has batches 0 to ${batches.length - 1}, not ${report.index}`;
  const slice = new Set(servers.slice(batch.from, batch.to).map((s) => s.fqdn));
  const outside = [...Object.keys(report.phases), ...report.inFlight, ...Object.keys(report.waiting)].find(
    (fqdn) => !slice.has(fqdn)
  );
  if (outside) return `batchProgress: ${outside} is not a server of batch ${report.index + 1}`;
  if (report.started > slice.size) return `batchProgress.started: batch ${report.index + 1} has ${slice.size} servers`;
  return undefined;
}
