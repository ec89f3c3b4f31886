/**
 * The error a faulted call reports: the rule's code with the text Windows prints for it, so logs of
 * a lab run read like logs of a real one.
 */
import type { ScriptError } from '../domain/envelope';
import type { FaultRule } from './model';
import { errorClass } from './state-step';

const MESSAGES: Record<string, string> = {
  '5': 'Connecting to remote server failed with the following error message : Access is denied.',
  '1326': 'The user name or password is incorrect.',
  '0x80338012':
    'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests.',
  '0x80338126':
    'WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled.',
  '0x80338029':
    'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
  '0x80338033': 'The WS-Management service cannot create the resource because it already exists.',
  '995': 'The I/O operation has been aborted because of either a thread exit or an application request.',
  '8344': 'Insufficient access rights to perform the operation.',
  ADIdentityNotFound: 'Cannot find an object with identity.',
  ADServerDown:
    'Unable to contact the server. This may be because this server does not exist, it is currently down, or it does not have the Active Directory Web Services running.',
  ShellQuota: 'The maximum number of concurrent shells for this user has been exceeded.',
  FirewallBlocked: 'TCP connect to port 5986 timed out: the port is filtered on the path.',
  ModuleMissing: "The term 'Set-ADAccountControl' is not recognized as the name of a cmdlet.",
};

export const CONNECTION_DROPPED = { code: '995', message: MESSAGES['995'] } as const;

export function faultError(rule: FaultRule): ScriptError {
  const code = rule.code ?? 'PowerShellError';
  return {
    class: errorClass(code),
    code,
    message: rule.message ?? MESSAGES[code] ?? `injected fault ${rule.id} (${code})`,
    fqid: `LabFault,${rule.id}`,
  };
}
