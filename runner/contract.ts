/**
 * Checks shared by both runners, so the lab and production accept and answer exactly the same:
 * parameters are validated before anything reaches PowerShell, and script output must be one
 * well-formed envelope.
 */
import { classifyCode, failureKind } from '../domain/failures';
import { envelopeSchema, type StepEnvelope } from '../domain/envelope';
import { formatIssues } from '../domain/issues';
import type { JsonValue, ScriptCall } from '../domain/scripts';
import { SCRIPT_PARAM_SCHEMAS } from '../domain/steps';
import { ScriptFailure, targetLabel } from './port';

/** Validates a call's parameters; returns the normalised call or throws `InvalidInput` naming the parameter. */
export function validateCall(call: ScriptCall): ScriptCall {
  const schema = SCRIPT_PARAM_SCHEMAS[call.script];
  if (!schema) {
    throw new ScriptFailure(failureKind('InvalidInput'), `unknown script ${String(call.script)}`, {
      script: String(call.script),
      target: targetLabel(call.target),
      code: 'InvalidInput',
    });
  }
  const parsed = schema.safeParse(call.params);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues).map((p) => `${call.script} -${p}`);
    throw new ScriptFailure(failureKind('InvalidInput'), `invalid parameter: ${problems.join('; ')}`, {
      script: call.script,
      target: targetLabel(call.target),
      code: 'InvalidInput',
    });
  }
  return { ...call, params: parsed.data as Record<string, JsonValue> };
}

/** Parses what a script printed; a failed script's envelope becomes a classified `ScriptFailure`. */
export function parseEnvelope(output: unknown, call: ScriptCall): StepEnvelope {
  const detail = { script: call.script, target: targetLabel(call.target), code: 'ScriptOutputInvalid' };
  let document = output;
  if (typeof output === 'string') {
    const text = output.replace(/^\uFEFF/, '').trim();
    try {
      document = JSON.parse(text);
    } catch {
      const preview = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw new ScriptFailure(
        failureKind('ScriptOutputInvalid'),
        `${call.script} on ${detail.target} did not print a JSON document: ${JSON.stringify(preview)}`,
        detail
      );
    }
  }
  const parsed = envelopeSchema.safeParse(document);
  if (!parsed.success) {
    throw new ScriptFailure(
      failureKind('ScriptOutputInvalid'),
      `${call.script} on ${detail.target} printed an unexpected document: ${formatIssues(parsed.error.issues).join('; ')}`,
      detail
    );
  }
  const envelope = parsed.data;
  if (!envelope.ok) {
    const error = envelope.error ?? { class: 'permanent' as const, code: 'PowerShellError', message: 'failed' };
    const kind = classifyCode(error.code, error.class);
    throw new ScriptFailure(kind, `${call.script} on ${detail.target}: ${error.message}`, {
      ...detail,
      code: error.code,
    });
  }
  return envelope;
}
