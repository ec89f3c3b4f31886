/**
 * The error a faulted call reports: the rule's code with the text Windows prints for it, so logs of
 * a lab run read like logs of a real one. The WinRM transport's texts live in ./session-text.ts (an
 * Exchange call that fails there prints Invoke-Command's error record instead of an envelope).
 */
import type { ScriptError } from '../domain/envelope';
import type { FaultRule } from './model';
import { transportMessage } from './session-text';
import { errorClass } from './state-step';

const MESSAGES: Record<string, string> = {
  '0x80338033': 'The WS-Management service cannot create the resource because it already exists.',
  '8344': 'Insufficient access rights to perform the operation.',
  ADIdentityNotFound: 'Cannot find an object with identity.',
  ADServerDown:
    'Unable to contact the server. This may be because this server does not exist, it is currently down, or it does not have the Active Directory Web Services running.',
  FirewallBlocked: 'TCP connect to port 5986 timed out: the port is filtered on the path.',
  ModuleMissing: "The term 'Set-ADAccountControl' is not recognized as the name of a cmdlet.",
};

export const CONNECTION_DROPPED = { code: '995', message: transportMessage('995', '') ?? '' } as const;

export function faultError(rule: FaultRule): ScriptError {
  const code = rule.code ?? 'PowerShellError';
  return {
    class: errorClass(code),
    code,
    message:
      rule.message ??
      MESSAGES[code] ??
      transportMessage(code, rule.host ?? '') ??
      `injected fault ${rule.id} (${code})`,
    fqid: `LabFault,${rule.id}`,
  };
}
