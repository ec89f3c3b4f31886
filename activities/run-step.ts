/**
 * One onboarding step: check → (ask for approval if risky) → change only when needed → verify over a
 * fresh call → roll back what this attempt changed if verification fails. Safe to retry: a retried
 * attempt re-checks first and finds the change already made.
 */
import { activityInfo, heartbeat } from '@temporalio/activity';
import type { StepEnvelope } from '../domain/envelope';
import { formatIssues } from '../domain/issues';
import { scriptCallFor, type StepOutcome, type StepRequest } from '../domain/onboarding';
import { assessRisk } from '../domain/risk';
import type { JsonValue } from '../domain/scripts';
import { STEP_MODULES, stepDefinition, type ScriptName, type StepId } from '../domain/steps';
import { ScriptFailure, type PowerShellRunner } from '../runner/port';
import { permanentFailure, toApplicationFailure } from './failures';

interface Checkpoint {
  /** The state before this activity's first change; survives a crash between change and return. */
  before: JsonValue;
}

function checkState(step: StepId, envelope: StepEnvelope): { before: unknown; after: unknown } {
  const schema = STEP_MODULES[step].state;
  const before = schema.safeParse(envelope.before);
  const after = schema.safeParse(envelope.after);
  if (!before.success || !after.success) {
    const issues = [...(before.error?.issues ?? []), ...(after.error?.issues ?? [])];
    throw permanentFailure(
      'ScriptOutputInvalid',
      `${envelope.script} on ${envelope.target} reported a state that does not match the ${step} contract: ${formatIssues(issues).join('; ')}`,
      { script: envelope.script, target: envelope.target }
    );
  }
  return { before: before.data, after: after.data };
}

function isConnectionDrop(err: unknown): boolean {
  return (
    err instanceof ScriptFailure && (err.kind.type === 'ConnectionDropped' || err.kind.type === 'WinRMUnavailable')
  );
}

/** The step's check over a fresh connection after a change (the listener's TLS handshake); null when it has none. */
async function probeFailure(runner: PowerShellRunner, step: StepId, req: StepRequest): Promise<string | null> {
  const probe = STEP_MODULES[step].hooks.probeAfterChange?.(req.server, req.context);
  if (!probe) return null;
  const result = await runner.run({
    script: probe.script as ScriptName,
    mode: 'plan',
    params: probe.params,
    target: probe.target,
  });
  return probe.passed(result.after) ? null : probe.failure;
}

/** Beats while a script call is pending: three times per heartbeat timeout, and at least every 10 s. */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(50, Math.min(10_000, Math.floor((heartbeatTimeoutMs ?? 30_000) / 3)));
}

/**
 * Heartbeats on a timer while a script call runs, and before a call when the last beat is an interval
 * old, so a step whose script takes minutes is never taken for dead while it works, and a worker that
 * dies stops beating at once: Temporal retries its attempt after the (short) heartbeat timeout. Each beat
 * carries the checkpoint. No beat as a step starts: the worker sends an activity's first beat at once and
 * holds later ones back for most of the timeout, so an early beat costs the server a write for every step
 * (most end in under a second) and delayed the checkpoint's beat, the one that must reach the server.
 */
function beating(runner: PowerShellRunner): { runner: PowerShellRunner; checkpoint(c: Checkpoint): void } {
  let latest = activityInfo().heartbeatDetails as Checkpoint | undefined;
  const everyMs = heartbeatIntervalMs(activityInfo().heartbeatTimeoutMs);
  // The attempt's start counts as a beat: the heartbeat timeout runs from it.
  let lastBeatAt = Date.now();
  const beat = (details: Checkpoint | undefined): void => {
    lastBeatAt = Date.now();
    heartbeat(details);
  };
  return {
    runner: {
      run: async (call) => {
        if (Date.now() - lastBeatAt >= everyMs) beat(latest);
        const timer = setInterval(() => beat(latest), everyMs);
        try {
          return await runner.run(call);
        } finally {
          clearInterval(timer);
        }
      },
      close: () => runner.close(),
    },
    checkpoint(c) {
      latest = c;
      beat(c);
    },
  };
}

export async function runStep(given: PowerShellRunner, step: StepId, req: StepRequest): Promise<StepOutcome> {
  const def = stepDefinition(step);
  const { runner, checkpoint: saveCheckpoint } = beating(given);
  const call = (mode: 'plan' | 'apply' | 'rollback', rollbackTo?: JsonValue) => ({
    ...scriptCallFor(step, mode, req.server, req.context),
    ...(rollbackTo !== undefined ? { rollbackTo } : {}),
  });
  try {
    const plan = await runner.run(call('plan'));
    const planned = checkState(step, plan);
    const base = { step, before: planned.before, evidence: plan.evidence, warnings: plan.warnings };

    const risk = plan.changed
      ? assessRisk(
          {
            fqdn: req.server.fqdn,
            computerName: req.server.computerName,
            monosyncServers: req.context.monosyncServers,
          },
          { step, before: planned.before, after: planned.after }
        )
      : null;
    if (req.mode === 'plan' || def.readOnly) {
      return {
        ...base,
        status: plan.changed ? 'would-change' : 'compliant',
        changed: false,
        after: planned.after,
        ...(risk ? { change: risk } : {}),
      };
    }
    const checkpoint = activityInfo().heartbeatDetails as Checkpoint | undefined;
    if (!plan.changed) {
      // A previous attempt may have made the change and died before returning: report it as changed.
      const changedEarlier =
        checkpoint !== undefined && JSON.stringify(checkpoint.before) !== JSON.stringify(planned.before);
      // The earlier attempt may have died between a failed probe and its rollback: probe again.
      const failedProbe = changedEarlier ? await probeFailure(runner, step, req) : null;
      if (changedEarlier && failedProbe) {
        await runner.run(call('rollback', checkpoint.before));
        throw permanentFailure(
          'VerificationFailed',
          `${def.title} on ${req.server.fqdn}: ${failedProbe}; rolled back to the previous state`,
          { step, rolledBack: true, before: checkpoint.before }
        );
      }
      return {
        ...base,
        before: changedEarlier ? checkpoint.before : planned.before,
        status: changedEarlier ? 'changed' : 'compliant',
        changed: changedEarlier,
        after: planned.after,
      };
    }

    const approved =
      risk !== null &&
      ((req.approvedChange?.id === risk.id && req.approvedChange.to === risk.to) || req.approvedKind === risk.kind);
    if (risk && !approved) {
      return { ...base, status: 'approval-required', changed: false, after: planned.after, change: risk };
    }

    saveCheckpoint({ before: (checkpoint?.before ?? plan.before) as JsonValue });
    let applied: StepEnvelope | undefined;
    try {
      applied = await runner.run(call('apply'));
    } catch (err) {
      // Restarting WinRM or rebinding the listener drops the session the change travelled on.
      if (!(def.cutsConnection && isConnectionDrop(err))) throw err;
    }

    const verify = await runner.run(call('plan'));
    const verified = checkState(step, verify);
    const failedProbe = verify.changed ? null : await probeFailure(runner, step, req);
    if (verify.changed || failedProbe) {
      const why = failedProbe ?? 'the state did not read back as changed';
      if (def.cutsConnection) {
        await runner.run(call('rollback', plan.before as JsonValue));
        throw permanentFailure(
          'VerificationFailed',
          `${def.title} on ${req.server.fqdn}: ${why}; rolled back to the previous state`,
          {
            step,
            rolledBack: true,
            before: plan.before,
          }
        );
      }
      throw permanentFailure('VerificationFailed', `${def.title} on ${req.server.fqdn}: ${why}`, {
        step,
        rolledBack: false,
      });
    }
    return {
      ...base,
      before: checkpoint?.before ?? planned.before,
      status: 'changed',
      changed: true,
      after: verified.after,
      evidence: { ...plan.evidence, ...(applied?.evidence ?? {}) },
      // The change's run often finds what the check found (Windows' own firewall rule, say): once each.
      warnings: [...new Set([...plan.warnings, ...(applied?.warnings ?? [])])],
      ...(risk ? { change: risk } : {}),
    };
  } catch (err) {
    const outside = req.outsideDomainIsNotApplicable ? outsideDomain(err) : null;
    if (outside)
      return {
        step,
        status: 'not-applicable',
        changed: false,
        before: null,
        after: null,
        evidence: {},
        warnings: [],
        notApplicable: outside,
      };
    throw toApplicationFailure(err);
  }
}

/** Onboarding's rule for a server no KDC of the worker's forest knows, applied to a failed call. */
function outsideDomain(err: unknown): string | null {
  if (!(err instanceof ScriptFailure)) return null;
  const why = STEP_MODULES.preflight.hooks.notApplicableWhenFailed?.(err.kind.type);
  return why ? `${why} (${err.kind.type})` : null;
}
