/**
 * Onboards a fleet: one `onboardServer` child per server, at most `maxParallel` at a time, stopping
 * new starts once the failure budget is spent, and continuing as new before its history grows large.
 *
 * Children are started with ParentClosePolicy.ABANDON and report their phase by signal, because a
 * run that continues as new closes, and would otherwise take its children with it. Anyone can send
 * that signal, so a final phase in it is never taken as it is: the child's result (children of this
 * run) or Temporal's record of the workflow (servers an earlier run started) decides.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities';
import {
  decisionForServer,
  describeReceived,
  KEPT_REFUSALS,
  keepRefusal,
  kindDecisionInputSchema,
  normaliseRules,
  parseMessage,
  standingDecisionSchema,
  type RefusedDecision,
  type RefusedVia,
  type StandingDecision,
} from '../domain/approvals';
import { planBatches } from '../domain/batches';
import { stepRetryOf } from '../domain/failures';
import { contextOf } from '../domain/onboarding';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { DEFAULT_SERVER_CHECK_INTERVAL, signingPolicyOf } from '../domain/fleet';
import { FleetKey, PhaseKey, ServerKey } from '../domain/search-attributes';
import {
  FAILED_PHASES,
  FINAL_PHASES,
  serverPhaseMessageSchema,
  WAITING_PHASES,
  type FleetCarry,
  type FleetRunInput,
  type FleetStatus,
  type ServerPhase,
  type ServerRunInput,
} from '../domain/status';
import {
  batchProgressSignal,
  batchSlotsSignal,
  decideKindUpdate,
  fleetContinuedSignal,
  fleetDecisionsSignal,
  standingDecisionsSignal,
  fleetStatusQuery,
  HANDLER_DESCRIPTIONS,
  serverPhaseSignal,
  standingDecisionSignal,
} from './messages';
import { VerificationBudget } from '../domain/signatures';
import { requestRefusal } from '../domain/request-signature';
import { onboardFleetInBatches } from './fleet-batches';
import { kindDecisionRefusal, MAX_RELAYED_DECISIONS, validateKindDecision } from './kind-decisions';
import { onboardServer } from './onboard-server';
import { renderFleetDetails, renderServerStaticDetails } from './render';
import { continueAsNewDue, restFitsInRun } from './history-budget';
import { PhaseTally } from './phase-tally';
import { inLanes } from '../lib/lanes';

/**
 * The patch of this release's cheaper fleet run: it starts every server a free slot allows in one
 * workflow task (not one task per start), its servers report their final phase by signal only once it
 * has continued as new (it tells them then), since until then their results reach it as its children's.
 */
export const LEAN_FLEET_PATCH = 'lean-fleet';

/**
 * Child starts and signals a lean run has out at once. Their answers come back as events, and Temporal
 * fails a workflow task once more than 100 events arrive while it runs (`history.maximumBufferedEventsBatch`).
 */
const MAX_COMMANDS_IN_FLIGHT = 50;

/** History events per server a run takes after its budget is reached: its start or hand-over signal (2), a completion meanwhile, tasks. */
const HANDOVER_EVENTS_PER_SLOT = 4;

/**
 * The patch of this release's hand-over: a run continues as new as soon as its starts are answered, and
 * the next run tells the servers it inherited that their results will not reach it, while it starts more.
 * (Before, the run told them itself and started nothing meanwhile: the fleet's slots drained for
 * about 10 s at each hand-over.)
 */
export const HANDOVER_BY_NEXT_RUN_PATCH = 'handover-by-next-run';

/**
 * The patch of this release's last run: a run whose rest fits a little past its budget finishes the
 * fleet instead of continuing as new (history-budget.ts `restFitsInRun`). Runs recorded before it
 * continued as new at their budget.
 */
export const FINISH_IN_RUN_PATCH = 'finish-in-run';

/**
 * Server starts a run has out at once (with HANDOVER_BY_NEXT_RUN_PATCH). Temporal records each start in
 * the fleet's history; dozens at once queue on the fleet workflow and each took seconds to be recorded,
 * holding its slot meanwhile.
 */
const MAX_STARTS_IN_FLIGHT = 10;

/** How long a started server workflow task may take before Temporal gives it to another worker. */
const SERVER_WORKFLOW_TASK_TIMEOUT = '4 seconds';

/**
 * The patch of this release's quiet end: a run continues as new only in a workflow task that exactly one
 * event led to (awaitQuietTask). An event that arrives while the run ends (a child's completion,
 * a report) makes Temporal refuse the end (UNHANDLED_COMMAND); the worker then replays the whole run, and
 * before this patch the replayed task tried to end again, was refused again because more events came in
 * during the replay, and so on until the run's own servers had all finished: about 12 s without starts
 * at each of 3 of 10 run ends at N = 5,000.
 */
export const QUIET_END_PATCH = 'quiet-end';

/**
 * The most events of a task that one event led to after awaitQuietTask's mark: the mark's
 * WorkflowTaskCompleted and, at most, its TimerStarted, the event, WorkflowTaskScheduled and WorkflowTaskStarted.
 * A task replayed after a refusal follows the mark by 8 or more (the refused task's own and the refusal's).
 */
const QUIET_TASK_EVENTS = 5;
/** Tasks a run waits for a quiet one before it ends regardless (as runs before QUIET_END_PATCH did). */
const MAX_QUIET_ROUNDS = 10;
/** A timer that wakes the run when nothing else does (Temporal fires timers to about a second). */
const QUIET_WAKE_UP = '1 second';

/**
 * Waits, once `ready()`, for a workflow task that exactly one event led to, and returns in it, for the run
 * to end there. It reads only the history's length, which replays the same: a task Temporal refused
 * replays with the refusal and the events that caused it in its length, so the replayed task (slow, and
 * open to more events meanwhile) never ends the run but marks again, and the run ends in the next task, a
 * quick one on the cached run.
 */
async function awaitQuietTask(ready: () => boolean): Promise<void> {
  let wakeUpPending = false;
  for (let round = 1; round <= MAX_QUIET_ROUNDS; round++) {
    await wf.condition(ready);
    const markedAt = wf.workflowInfo().historyLength;
    // One timer at a time and never cancelled, so a mark adds one event at most.
    if (!wakeUpPending) {
      wakeUpPending = true;
      const woken = (): void => {
        wakeUpPending = false;
      };
      wf.sleep(QUIET_WAKE_UP).then(woken, woken);
    }
    await wf.condition(() => wf.workflowInfo().historyLength > markedAt);
    if (wf.workflowInfo().historyLength - markedAt <= QUIET_TASK_EVENTS && ready()) return;
  }
  await wf.condition(ready);
}

/** A batch reports to its fleet at most this often per batch running at once, the gap doubling every REPORTS_PER_GAP reports. */
const REPORT_GAP_PER_BATCH_MS = 1_500;
const MIN_REPORT_GAP_MS = 3_000;
const REPORTS_PER_GAP = 20;

/** Wait before confirming a server's reported final phase with Temporal (see watchInherited). */
const CONFIRM_DELAY_MS = 1000;
const MAX_CONFIRM_TRIES = 5;

export async function onboardFleet(input: FleetRunInput): Promise<FleetStatus> {
  const { spec, requestedBy } = input;
  // The main queue, for the servers; inherited when absent (fleets started before the fleet queue).
  const onServerQueue = input.serverTaskQueue ? { taskQueue: input.serverTaskQueue } : {};
  // A batch of a large fleet, started by the fleet's workflow, which proved the requester (a batch started
  // any other way is held to the proof like a fleet).
  const batchOfFleet =
    input.batch !== undefined && wf.workflowInfo().parent?.workflowId === fleetWorkflowId(spec.fleetId);
  // The requester is proven before anything is done (domain/request-signature.ts); a continued run was
  // checked by the chain's first. Behind a patch: signed fleets started before requests were signed replay.
  if (
    !wf.workflowInfo().continuedFromExecutionRunId &&
    spec.approvals === 'signed' &&
    !batchOfFleet &&
    wf.patched('signed-request')
  ) {
    const refusal = requestRefusal(spec, requestedBy, input.requestSignature, Date.now());
    if (refusal) throw wf.ApplicationFailure.nonRetryable(refusal, 'RequestRefused');
  }
  const settings = spec.settings;
  // A large fleet runs as batches (fleet-batches.ts). Fleets started before batches have no batchSize.
  if (!input.carry && !input.batch) {
    const plan = planBatches(spec.servers.length, settings.maxParallel, settings.batchSize);
    if (plan.batches.length > 0) return onboardFleetInBatches(input, plan);
  }
  // This release's cheaper fleet (LEAN_FLEET_PATCH); runs recorded before it replay their old commands.
  const lean = wf.patched(LEAN_FLEET_PATCH);
  const carry: FleetCarry = input.carry ?? {
    cursor: 0,
    servers: Object.fromEntries(spec.servers.map((s) => [s.fqdn, 'queued' as ServerPhase])),
    inFlight: [],
    standingDecisions: [],
    run: 1,
  };
  /** Started and not finished. */
  const inFlight = new Set(carry.inFlight);
  /** Servers this run started: their results reach this run, and only this run, as its children's. */
  const startedHere = new Set<string>();
  /** Starts issued and not answered yet (a lean run issues several in one workflow task), and the first that failed. */
  let starting = 0;
  let startFailure: unknown;
  /** Hand-over signals out (tellServersWeContinue): they share the commands in flight with the starts. */
  let telling = 0;
  const runIds: Record<string, string> = { ...carry.runIds };
  /**
   * Servers that said they finished and are not settled yet. A child of this run is settled by its
   * result; one inherited from an earlier run (or still unsettled when this run continues as new) is
   * confirmed by asking Temporal.
   */
  const confirmRequests = new Set<string>(carry.toConfirm);
  /** The latest refused messages of this run, and all refused over the chain. */
  const refused: RefusedDecision[] = [];
  let refusedCount = carry.refusedCount ?? 0;
  const phases = new PhaseTally(carry.servers);
  /** Servers waiting for an approval or an operator, and what on (from their `serverPhase` signals). */
  const waiting: Record<string, string> = { ...carry.waiting };
  // A server waiting for an operator puts no load on anything: it gives its slot to the next server
  // instead of stalling the fleet (and counts against the failure budget meanwhile). Only servers in
  // flight can be waiting for an operator, so the difference is the number of busy slots.
  const active = (): number => inFlight.size - phases.count(['awaiting-operator']);
  /**
   * Servers this run may have in flight: the fleet's maxParallel, or a batch's share of it, which a batch
   * that starts while the one before it in its lane still drains gets as that one's servers finish
   * (`batchSlots`, workflows/fleet-batches.ts).
   */
  let slots = input.batch?.slots ?? settings.maxParallel;
  const verificationBudget = new VerificationBudget();
  const rules = normaliseRules({ approvers: spec.approvers, requestedBy, signing: signingPolicyOf(spec) });

  // What a run does after its budget is reached adds events (its starts still out; before the next run took
  // over the hand-over, a signal to each server it started), so it stops early enough to end near its
  // budget, not past it. Runs recorded before the next run took over the hand-over replay without this patch.
  const handoverByNextRun = lean && wf.patched(HANDOVER_BY_NEXT_RUN_PATCH);
  const budget = handoverByNextRun
    ? Math.max(
        settings.historyEventBudget / 2,
        // After it: its starts still out (each answered, then a completion meanwhile), and tasks.
        settings.historyEventBudget - HANDOVER_EVENTS_PER_SLOT * Math.min(settings.maxParallel, MAX_COMMANDS_IN_FLIGHT)
      )
    : lean
      ? Math.max(
          settings.historyEventBudget / 2,
          settings.historyEventBudget - HANDOVER_EVENTS_PER_SLOT * settings.maxParallel
        )
      : settings.historyEventBudget;
  const finishInRun = handoverByNextRun && wf.patched(FINISH_IN_RUN_PATCH);
  // Asked here, at the run's start: its marker (and the patch search attribute) would otherwise land in the
  // task that awaitQuietTask measures.
  const quietEnd = finishInRun && wf.patched(QUIET_END_PATCH);
  const restFits = (): boolean =>
    restFitsInRun({
      historyLength: wf.workflowInfo().historyLength,
      continueAsNewSuggested: wf.workflowInfo().continueAsNewSuggested,
      toStart: carry.stoppedReason ? 0 : spec.servers.length - carry.cursor,
      inFlight: inFlight.size,
      budget: settings.historyEventBudget,
    });
  // Defined before any handler: a signal can arrive in the very first activation.
  const historyTooLong = (): boolean => continueAsNewDue(budget) && !(finishInRun && restFits());
  const failureBudgetSpent = (): string | undefined => {
    const failed = phases.count(FAILED_PHASES);
    const share = (100 * failed) / spec.servers.length;
    return failed > 0 && share > settings.maxFailurePercent
      ? `${failed} of ${spec.servers.length} servers failed (${share.toFixed(1)}%), more than the failure budget of ${settings.maxFailurePercent}%`
      : undefined;
  };

  /** While over budget with servers still waiting for operators, starts pause (operators may yet fix them). */
  const pausedReason = (): string | undefined => {
    const spent = failureBudgetSpent();
    return spent && carry.cursor < spec.servers.length
      ? `${spent}; no new server starts until operators decide`
      : undefined;
  };
  const status = (): FleetStatus => {
    return {
      fleetId: spec.fleetId,
      requestedBy,
      approvals: signingPolicyOf(spec).approvals,
      counts: { total: spec.servers.length, started: carry.cursor, byPhase: phases.byPhase() },
      servers: carry.servers,
      inFlight: [...inFlight],
      stoppedReason: carry.stoppedReason ?? pausedReason(),
      waiting,
      standingDecisions: carry.standingDecisions,
      refused,
      refusedCount,
      run: carry.run,
      ...(input.batch ? { batch: { index: input.batch.index, count: input.batch.count } } : {}),
      done:
        inFlight.size === 0 &&
        starting === 0 &&
        (carry.cursor >= spec.servers.length || carry.stoppedReason !== undefined),
    };
  };
  /** Bumped at every change the details show; a batch reports to its fleet after changes (reportToFleet). */
  let version = 0;
  const refreshDetails = () => {
    version += 1;
    wf.setCurrentDetails(renderFleetDetails(status(), wf.workflowInfo().namespace));
  };

  /** Decisions a lean run has taken and not yet relayed, and whether a relay is under way. */
  const unrelayed: StandingDecision[] = [];
  let relaying = false;
  /**
   * How many of the fleet's decisions each server this run started got in its input; one inherited from
   * an earlier run got those that run took (it relayed the rest).
   */
  const knownAtStart = new Map<string, number>();
  const decisionsAtRunStart = carry.standingDecisions.length;
  /** Sends fleet decisions to a running server in one signal, those that cover it (a lean run's relay). */
  const relayBatch = async (fqdn: string, decisions: StandingDecision[]): Promise<void> => {
    const forServer = decisions.flatMap((d) => decisionForServer(d, fqdn) ?? []);
    if (forServer.length === 0) return;
    await wf
      .getExternalWorkflowHandle(serverWorkflowId(fqdn))
      .signal(standingDecisionsSignal, forServer)
      .catch((err) => {
        // A server that finished meanwhile needs none.
        if (inFlight.has(fqdn)) wf.log.warn('could not relay fleet decisions', { fqdn, error: String(err) });
      });
  };
  /**
   * Relays what a lean run decides, all that one workflow task took in one signal per running server
   * (several kinds approved at once cost each server one signal, not one per kind), at most
   * MAX_COMMANDS_IN_FLIGHT signals at a time, and while one relay is under way the next decisions gather.
   */
  const relayDecisions = async (): Promise<void> => {
    for (;;) {
      await wf.condition(() => unrelayed.length > 0);
      relaying = true;
      const batch = unrelayed.splice(0);
      // Only to servers started before a decision: a later one found it in its input.
      const taken = new Map(batch.map((d) => [d, carry.standingDecisions.indexOf(d)]));
      await inLanes([...inFlight], { width: MAX_COMMANDS_IN_FLIGHT }, (fqdn) => {
        const known = knownAtStart.get(fqdn) ?? decisionsAtRunStart;
        return relayBatch(
          fqdn,
          batch.filter((d) => (taken.get(d) ?? 0) >= known)
        );
      });
      relaying = false;
    }
  };

  /** Sends a fleet decision to a running server, if it covers that server. */
  const relay = async (fqdn: string, decision: StandingDecision): Promise<void> => {
    const forServer = decisionForServer(decision, fqdn);
    if (!forServer) return;
    await wf
      .getExternalWorkflowHandle(serverWorkflowId(fqdn))
      .signal(standingDecisionSignal, forServer)
      .catch((err) => wf.log.warn('could not relay a fleet decision', { fqdn, error: String(err) }));
  };

  /** Counts a refused message and keeps the latest few; a flood is logged by samples. */
  const refuse = (raw: unknown, refusal: string, via: RefusedVia = 'serverPhase'): void => {
    const entry = { received: describeReceived(raw), refusal, at: new Date().toISOString(), via };
    refusedCount = keepRefusal(refused, entry, refusedCount);
    if (refusedCount <= KEPT_REFUSALS || refusedCount % 100 === 0) {
      wf.log.warn('refused a message', { refusal, via, refusedSoFar: refusedCount });
    }
  };

  wf.setHandler(fleetStatusQuery, status, { description: HANDLER_DESCRIPTIONS.fleetStatus });
  wf.setHandler(
    serverPhaseSignal,
    (raw: unknown) => {
      // A malformed payload (null, a forged shape) is counted and dropped: throwing here would fail
      // every workflow task that replays it.
      const parsed = parseMessage(serverPhaseMessageSchema, raw, 'serverPhase');
      if (!parsed.ok) return refuse(raw, parsed.refusal);
      const { fqdn, phase, waitingFor } = parsed.value;
      // Only servers in flight: a leftover from a terminated earlier run must not count.
      if (!inFlight.has(fqdn)) return;
      if (FINAL_PHASES.includes(phase)) {
        // Confirmed with Temporal: the child's result (below), or a check on an inherited server.
        confirmRequests.add(fqdn);
        return;
      }
      // A server reports only these on the way (see onboardServer's setPhase calls); `queued` and the like are forged.
      if (!WAITING_PHASES.includes(phase) && phase !== 'running') {
        return refuse(raw, `serverPhase: a server never reports ${phase} while it runs`);
      }
      phases.set(fqdn, phase);
      if (WAITING_PHASES.includes(phase)) waiting[fqdn] = waitingFor ?? phase;
      else delete waiting[fqdn];
      refreshDetails();
    },
    { description: HANDLER_DESCRIPTIONS.serverPhase }
  );
  /** The checks of a fleet decision; a batch holds a slice of the fleet's servers, and the fleet checked the names. */
  const decisionChecks = () => ({
    rules,
    signing: signingPolicyOf(spec),
    taken: carry.standingDecisions,
    budget: verificationBudget,
    ...(input.batch ? {} : { isServer: (fqdn: string) => phases.has(fqdn) }),
  });
  wf.setHandler(
    decideKindUpdate,
    async (raw) => {
      // The validator checked the normalised form (lower-cased names); record and relay that form too.
      const d = kindDecisionInputSchema.parse(raw);
      const decision: StandingDecision = { ...d, at: new Date().toISOString() };
      carry.standingDecisions.push(decision);
      // Workflows cannot update each other; a signal reaches the running servers, the rest get it at start.
      if (lean) unrelayed.push(decision);
      else await Promise.all([...inFlight].map((fqdn) => relay(fqdn, decision)));
      return decision;
    },
    {
      validator: (raw) => {
        if (input.batch) {
          throw wf.ApplicationFailure.nonRetryable(
            `this is batch ${input.batch.index + 1} of fleet ${spec.fleetId}: send decideKind to the fleet's workflow ${fleetWorkflowId(spec.fleetId)}, which relays it to every batch`,
            'DecisionRefused'
          );
        }
        validateKindDecision(raw, decisionChecks());
      },
      description: HANDLER_DESCRIPTIONS.decideKind,
    }
  );
  if (input.batch) {
    // Anyone can send it too: never more than the lane's share (this batch's maxParallel).
    wf.setHandler(
      batchSlotsSignal,
      (raw: unknown) => {
        if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > settings.maxParallel) {
          return refuse(raw, `batchSlots: expected a whole number from 0 to ${settings.maxParallel}`, 'batchSlots');
        }
        slots = raw;
      },
      { description: HANDLER_DESCRIPTIONS.batchSlots }
    );
    // The fleet's decisions, relayed by its workflow; anyone can send this signal, so each is checked as the fleet did.
    wf.setHandler(
      fleetDecisionsSignal,
      (raw: unknown) => {
        if (!Array.isArray(raw) || raw.length > MAX_RELAYED_DECISIONS) {
          return refuse(raw, `fleetDecisions: expected a list of at most ${MAX_RELAYED_DECISIONS} decisions`, 'fleet');
        }
        for (const item of raw) {
          const parsed = parseMessage(standingDecisionSchema, item, 'fleetDecisions');
          const refusal = parsed.ok ? kindDecisionRefusal(parsed.value, decisionChecks()) : parsed.refusal;
          if (refusal || !parsed.ok) {
            refuse(item, refusal ?? '', 'fleet');
            continue;
          }
          carry.standingDecisions.push(parsed.value);
          unrelayed.push(parsed.value);
        }
        refreshDetails();
      },
      { description: HANDLER_DESCRIPTIONS.fleetDecisions }
    );
  }

  /** A server that closed without telling us (terminated, timed out) must not hold its slot forever. */
  const settle = (fqdn: string, phase: ServerPhase): void => {
    const current = phases.phaseOf(fqdn);
    if (!inFlight.has(fqdn) || (current && FINAL_PHASES.includes(current))) return;
    phases.set(fqdn, phase);
    delete waiting[fqdn];
    inFlight.delete(fqdn);
    confirmRequests.delete(fqdn);
    refreshDetails();
  };

  const context = contextOf(spec);
  const startServer = async (index: number): Promise<void> => {
    const server = spec.servers[index];
    const childInput: ServerRunInput = {
      fleetId: spec.fleetId,
      server,
      context,
      requestedBy,
      approvers: spec.approvers,
      approvalTimeoutMs: settings.approvalTimeout,
      stepRetry: stepRetryOf(settings.stepRetry),
      standingDecisions: carry.standingDecisions.flatMap((d) => decisionForServer(d, server.fqdn) ?? []),
      signing: signingPolicyOf(spec),
      // Not compared on replay (a child's input is not), so fleets recorded with 2 replay as they were.
      ...(lean ? { fleetProtocol: 3 as const } : {}),
    };
    const known = carry.standingDecisions.length;
    try {
      const child = await wf.startChild(onboardServer, {
        workflowId: serverWorkflowId(server.fqdn),
        args: [childInput],
        ...onServerQueue,
        parentClosePolicy: wf.ParentClosePolicy.ABANDON,
        // A server's workflow tasks take milliseconds; when the worker that started one dies, the task is
        // handed to another after this, not Temporal's default 10 s (replay does not compare it).
        workflowTaskTimeout: SERVER_WORKFLOW_TASK_TIMEOUT,
        staticSummary: `Onboard ${server.computerName} (${server.fqdn}) for fleet ${spec.fleetId}`,
        staticDetails: renderServerStaticDetails(spec.fleetId, server.fqdn, server.computerName),
        typedSearchAttributes: [
          { key: FleetKey, value: spec.fleetId },
          { key: ServerKey, value: server.fqdn },
          { key: PhaseKey, value: 'running' },
        ],
      });
      phases.set(server.fqdn, 'running');
      inFlight.add(server.fqdn);
      runIds[server.fqdn] = child.firstExecutionRunId;
      startedHere.add(server.fqdn);
      knownAtStart.set(server.fqdn, known);
      child.result().then(
        (result) => settle(server.fqdn, result.phase),
        // Terminated or cancelled counts as aborted, as findClosedServers reports it for inherited servers.
        (err: unknown) =>
          settle(
            server.fqdn,
            wf.isCancellation(err) ||
              (err instanceof wf.ChildWorkflowFailure && err.cause instanceof wf.TerminatedFailure)
              ? 'aborted'
              : 'failed'
          )
      );
      // A fleet decision taken while the child was being started reached neither its input nor a relay.
      const late = carry.standingDecisions.slice(known);
      // A lean run's decisions still to be relayed reach this server with the others.
      if (lean)
        await relayBatch(
          server.fqdn,
          late.filter((d) => !unrelayed.includes(d))
        );
      else for (const d of late) await relay(server.fqdn, d);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Another run (this fleet's earlier one, or another fleet) is onboarding this server right now.
      phases.set(server.fqdn, 'duplicate');
    }
  };

  /** Starts a server without waiting for Temporal to answer, so the next free slot is filled in the same task. */
  const launch = (index: number): void => {
    starting += 1;
    startServer(index).then(
      () => {
        starting -= 1;
      },
      (err: unknown) => {
        starting -= 1;
        startFailure ??= err;
      }
    );
  };

  /**
   * Tells servers started by this run (before HANDOVER_BY_NEXT_RUN_PATCH) or by the previous one that
   * their results will not reach the run that started them: each then signals its final phase. One that
   * closed before it heard is confirmed with Temporal.
   */
  const tellServersWeContinue = async (servers: string[], width: number): Promise<void> => {
    await inLanes(servers, { width }, async (fqdn) => {
      telling += 1;
      await wf
        // The current run, not the one started: a server reset by an operator runs on as a new run.
        .getExternalWorkflowHandle(serverWorkflowId(fqdn))
        .signal(fleetContinuedSignal)
        .catch(() => {
          if (inFlight.has(fqdn)) confirmRequests.add(fqdn);
        });
      telling -= 1;
    });
  };

  const continueAsNew = async (): Promise<never> => {
    // A start still unanswered would be lost: its child would run with no run of the fleet counting it.
    const settled = (): boolean => starting === 0 && handoverDone && unrelayed.length === 0 && !relaying;
    await wf.condition(settled);
    if (lean && !handoverByNextRun) {
      await tellServersWeContinue(
        [...startedHere].filter((fqdn) => inFlight.has(fqdn)),
        MAX_COMMANDS_IN_FLIGHT
      );
    }
    await wf.condition(wf.allHandlersFinished);
    if (quietEnd) {
      await awaitQuietTask(() => settled() && wf.allHandlersFinished());
    }
    const startedHereInFlight = [...startedHere].filter((fqdn) => inFlight.has(fqdn));
    const stillInFlight = [...inFlight];
    return wf.continueAsNew<typeof onboardFleet>({
      spec,
      requestedBy,
      ...(input.serverTaskQueue ? { serverTaskQueue: input.serverTaskQueue } : {}),
      // A batch stays one (its reports, its fleet's decisions and slots), with the slots it was given.
      ...(input.batch ? { batch: { ...input.batch, slots } } : {}),
      carry: {
        ...carry,
        inFlight: stillInFlight,
        waiting: Object.fromEntries(Object.entries(waiting).filter(([fqdn]) => inFlight.has(fqdn))),
        refusedCount,
        // A server that said it finished just before this run ended is confirmed by the next one.
        toConfirm: [...confirmRequests].filter((fqdn) => inFlight.has(fqdn)),
        // The next run tells them (HANDOVER_BY_NEXT_RUN_PATCH); one that closes before it hears is confirmed.
        untold: handoverByNextRun ? startedHereInFlight : [],
        runIds: Object.fromEntries(stillInFlight.flatMap((f) => (runIds[f] ? [[f, runIds[f]]] : []))),
        run: carry.run + 1,
      },
    });
  };

  // Servers an earlier run started have no child handle here: their result never reaches this run.
  // They normally report by signal; one terminated by hand does not, so ask Temporal now and then.
  const { findClosedServers } = wf.proxyActivities<Pick<OnboardingActivities, 'findClosedServers'>>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 3 },
    summary: 'check on servers started by an earlier run',
  });
  // Fleets from before this setting existed have none in their spec.
  const checkEveryMs = settings.serverCheckInterval ?? DEFAULT_SERVER_CHECK_INTERVAL;
  /** How often one inherited server that said it finished is checked again while Temporal still shows it open. */
  const confirmTries = new Map<string, number>();
  const watchInherited = async (inherited: string[]): Promise<void> => {
    for (;;) {
      // The schedule is carried across continue-as-new, so short runs do not keep putting the check off.
      carry.nextServerCheckAt ??= Date.now() + checkEveryMs;
      const asked = await wf.condition(
        () => confirmRequests.size > 0,
        Math.max(1, carry.nextServerCheckAt - Date.now())
      );
      let open: string[];
      if (asked) {
        // A server signals just before it closes; and a flood of signals costs one check a second at most.
        await wf.sleep(CONFIRM_DELAY_MS);
        // Kept in the set until checked, so a run that continues as new meanwhile carries them on.
        for (const fqdn of confirmRequests) if (!inFlight.has(fqdn)) confirmRequests.delete(fqdn);
        open = [...confirmRequests];
      } else {
        carry.nextServerCheckAt = Date.now() + checkEveryMs;
        open = inherited.filter((fqdn) => inFlight.has(fqdn));
        if (open.length === 0) return;
      }
      if (open.length === 0) continue;
      try {
        for (const closed of await findClosedServers(open.map((fqdn) => ({ fqdn, runId: runIds[fqdn] })))) {
          if (!asked) wf.log.warn('a server workflow closed without reporting to the fleet', { ...closed });
          settle(closed.fqdn, closed.phase);
        }
      } catch (err) {
        if (wf.isCancellation(err)) return;
        wf.log.warn('could not check on servers started by an earlier run', { error: String(err) });
      }
      if (!asked) continue;
      // Still open after saying it finished: look again a few times, then leave it to the regular check.
      for (const fqdn of open) {
        const tries = (confirmTries.get(fqdn) ?? 0) + 1;
        confirmTries.set(fqdn, tries);
        if (!inFlight.has(fqdn) || tries >= MAX_CONFIRM_TRIES) confirmRequests.delete(fqdn);
      }
    }
  };
  // Behind a patch: runs recorded before the check existed replay without its timer.
  if (carry.inFlight.length > 0 && wf.patched('check-inherited-servers')) {
    watchInherited(carry.inFlight).catch((err: unknown) => {
      // Cancelling the fleet cancels the sleep; nothing else can reach here.
      if (!wf.isCancellation(err)) wf.log.error('watching inherited servers stopped', { error: String(err) });
    });
  }
  // The servers the previous run started and did not tell, half the commands in flight at a time: the starts get the rest.
  let handoverDone = true;
  if (carry.untold?.length) {
    handoverDone = false;
    const untold = carry.untold.filter((fqdn) => inFlight.has(fqdn));
    tellServersWeContinue(untold, MAX_COMMANDS_IN_FLIGHT / 2)
      .catch((err: unknown) => {
        // Cancelling the fleet cancels its signals; nothing else can reach here.
        if (!wf.isCancellation(err)) wf.log.error('telling inherited servers stopped', { error: String(err) });
      })
      .finally(() => {
        handoverDone = true;
      });
  }
  /**
   * A batch tells its fleet what changed (the fleet's status and details), some seconds after a change
   * and never more often than every 1.5 s per batch running at once (3 s at least), the gap doubling
   * every REPORTS_PER_GAP reports, so the fleet's history stays within its budget however long the
   * batches run; nothing is sent while nothing changes (a batch waiting for approvals).
   */
  const reportToFleet = async (batch: NonNullable<FleetRunInput['batch']>): Promise<void> => {
    const fleet = wf.getExternalWorkflowHandle(fleetWorkflowId(spec.fleetId));
    // What the fleet knows of this slice: queued, unless a report of this run said otherwise.
    const reported: Record<string, ServerPhase> = Object.fromEntries(spec.servers.map((s) => [s.fqdn, 'queued']));
    let gapMs = Math.max(MIN_REPORT_GAP_MS, (batch.lanes ?? batch.count) * REPORT_GAP_PER_BATCH_MS);
    let sentAtGap = 0;
    let reportedVersion = version;
    let reportedAt = Date.now();
    for (;;) {
      await wf.condition(() => version !== reportedVersion);
      // In the first task past the gap (a busy batch has one every moment, and its timer is then cancelled,
      // not fired: no task of its own), or when the timer fires, half a gap later (an idle batch).
      const dueAt = reportedAt + gapMs;
      if (Date.now() < dueAt) await wf.condition(() => Date.now() >= dueAt, dueAt + gapMs / 2 - Date.now());
      reportedAt = Date.now();
      reportedVersion = version;
      const changed = Object.fromEntries(Object.entries(carry.servers).filter(([fqdn, p]) => reported[fqdn] !== p));
      Object.assign(reported, changed);
      const { stoppedReason } = status();
      await fleet
        .signal(batchProgressSignal, {
          index: batch.index,
          phases: changed,
          started: carry.cursor,
          inFlight: [...inFlight],
          waiting,
          ...(stoppedReason ? { stoppedReason } : {}),
          refusedCount,
        })
        .catch((err) => {
          // Cancelled when the batch ends: its result tells the fleet the rest.
          if (!wf.isCancellation(err)) wf.log.warn('could not report to the fleet', { error: String(err) });
        });
      if (++sentAtGap >= REPORTS_PER_GAP) {
        gapMs *= 2;
        sentAtGap = 0;
      }
    }
  };
  const reporting = new wf.CancellationScope();
  if (input.batch) {
    const batch = input.batch;
    reporting
      .run(() => reportToFleet(batch))
      .catch((err: unknown) => {
        // Cancelling the batch cancels its timer; nothing else can reach here.
        if (!wf.isCancellation(err)) wf.log.error('reporting to the fleet stopped', { error: String(err) });
      });
  }
  if (lean) {
    relayDecisions().catch((err: unknown) => {
      // Cancelling the fleet cancels its signals; nothing else can reach here.
      if (!wf.isCancellation(err)) wf.log.error('relaying fleet decisions stopped', { error: String(err) });
    });
  }

  try {
    while (carry.cursor < spec.servers.length && !carry.stoppedReason) {
      // Over budget: wait; operators may retry their servers back under it, or the last one settles.
      await wf.condition(() => {
        const spent = failureBudgetSpent() !== undefined;
        return (
          startFailure !== undefined ||
          historyTooLong() ||
          (spent
            ? inFlight.size + starting === 0
            : active() + starting < slots &&
              starting + telling < MAX_COMMANDS_IN_FLIGHT &&
              (!handoverByNextRun || starting < MAX_STARTS_IN_FLIGHT))
        );
      });
      if (startFailure !== undefined) throw startFailure;
      if (historyTooLong()) await continueAsNew();
      const spent = failureBudgetSpent();
      if (spent) {
        carry.stoppedReason = spent;
        for (const s of spec.servers.slice(carry.cursor)) phases.set(s.fqdn, 'not-started');
        wf.log.warn('failure budget spent: no new servers will be started', { fleet: spec.fleetId, reason: spent });
        break;
      }
      if (lean) launch(carry.cursor);
      else await startServer(carry.cursor);
      carry.cursor += 1;
      refreshDetails();
    }
    await wf.condition(() => startFailure !== undefined || (inFlight.size === 0 && starting === 0) || historyTooLong());
    if (startFailure !== undefined) throw startFailure;
    if (inFlight.size > 0 || starting > 0) await continueAsNew();
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    // Children were started abandoned (to survive continue-as-new), so cancel them explicitly.
    await wf.CancellationScope.nonCancellable(async () => {
      carry.stoppedReason = 'the fleet run was cancelled';
      await Promise.all(
        [...inFlight].map((fqdn) =>
          wf
            .getExternalWorkflowHandle(serverWorkflowId(fqdn))
            .cancel()
            .catch(() => undefined)
        )
      );
    });
    throw err;
  }
  await wf.condition(wf.allHandlersFinished);
  if (input.batch) {
    // A report's timer firing while the batch completes would make Temporal refuse the completion (and the
    // worker replay the whole batch): it is cancelled first, and the batch completes in a later task.
    reporting.cancel();
    await wf.sleep(1);
  }
  refreshDetails();
  return status();
}
