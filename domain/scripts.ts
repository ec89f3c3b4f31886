/**
 * The call contract of a step script: which script, in which mode, with which parameters, against
 * which host. Both runners (node-powershell and the lab) accept exactly these calls; each step's
 * parameter schema is in its module (`steps/<Script>/step.ts`).
 */
import type { ScriptMode } from './envelope';
import type { ScriptName } from './steps';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Where a script runs: remotely on an Exchange server, on the AD management host, or on the worker. */
export type ScriptTarget =
  | { host: 'exchange'; fqdn: string }
  | { host: 'ad'; domainController?: string }
  | { host: 'worker'; onBehalfOf: string };

export interface ScriptCall {
  script: ScriptName;
  mode: ScriptMode;
  params: Record<string, JsonValue>;
  target: ScriptTarget;
  /** The step's `before`, for rollback mode. */
  rollbackTo?: JsonValue;
}
