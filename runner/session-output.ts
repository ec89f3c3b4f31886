/**
 * What a PowerShell session printed for one call, turned into the envelope or the classified failure:
 * the one parsing path of both runners. Production feeds it what pwsh wrote (stdout, or the error
 * record's text when node-powershell rejects); the lab feeds it what a Windows PowerShell 5.1 session
 * would have written (lab/session-text.ts), so a lab run exercises the same parsing as a real one.
 */
import type { StepEnvelope } from '../domain/envelope';
import { classifyCode } from '../domain/failures';
import type { ScriptCall } from '../domain/scripts';
import { codeFromStderr } from '../powershell/stderr-codes';
import { parseEnvelope } from './contract';
import { ScriptFailure, targetLabel } from './port';

/**
 * Terminal control sequences (CSI such as `ESC[?1h`, OSC, two-character escapes). pwsh on Linux writes
 * keypad-mode sequences before its output when TERM names a terminal, and colours error text unless
 * told not to; neither belongs in an envelope or a failure message.
 */
// eslint-disable-next-line no-control-regex
const TERMINAL_SEQUENCE = /\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001B]*(?:\u0007|\u001B\\)|[@-Z\\-_])/g;

export function withoutTerminalSequences(text: string): string {
  return text.replace(TERMINAL_SEQUENCE, '');
}

/** Output may carry host lines (warnings) before the document; the envelope is the last JSON line. */
function envelopeText(raw: string): string {
  const lines = withoutTerminalSequences(raw)
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const json = lines.filter((l) => l.trimStart().startsWith('{'));
  return json.length > 0 ? json[json.length - 1] : raw;
}

/** The envelope a session printed on stdout (a failed script's envelope throws its classified failure). */
export function envelopeFromOutput(stdout: string, call: ScriptCall): StepEnvelope {
  return parseEnvelope(envelopeText(stdout), call);
}

/** The failure an error record printed on stderr stands for: its code read from the text, the text kept. */
export function failureFromErrorText(stderr: string, call: ScriptCall): ScriptFailure {
  const text = withoutTerminalSequences(stderr).trim();
  const code = codeFromStderr(text);
  const target = targetLabel(call.target);
  return new ScriptFailure(
    classifyCode(code),
    `${call.script} on ${target}: ${text || 'PowerShell failed without a message'}`,
    { script: call.script, target, code }
  );
}
