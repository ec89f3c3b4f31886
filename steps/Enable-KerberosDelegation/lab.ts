/**
 * Enable-KerberosDelegation: runs on the AD host and resolves the computer by sAMAccountName (never a
 * guessed DN: Exchange servers rarely live in CN=Computers). Reports every delegation attribute so a
 * reviewer sees constrained or resource-based delegation already in place.
 *
 * As on a real domain: the object found must carry the server's FQDN as DNSHostName (NetBIOS names are
 * truncated to 15 characters and can belong to another host); each call reads and writes on one DC, the
 * one named or the locator's pick (which takes turns when the directory has several), and the other DCs
 * see a write only after replication; Monosync's account in Protected Users or marked sensitive makes
 * delegation impossible, which the script refuses to pretend otherwise.
 */
import type { z } from 'zod';
import { accountSid, protectedUsersSid } from '../../lab/identity';
import type { LabComputerObject } from '../../lab/model';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

function domainDn(ctx: HandlerContext): string {
  return ctx.settings.domain
    .split('.')
    .map((l) => `DC=${l}`)
    .join(',');
}

function notFound(ctx: HandlerContext, identity: string, command = 'GetADComputer') {
  return fail('ADIdentityNotFound', `Cannot find an object with identity: '${identity}' under: '${domainDn(ctx)}'.`, {
    exceptionType: 'Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException',
    fqid: `ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,Microsoft.ActiveDirectory.Management.Commands.${command}`,
  });
}

/**
 * The DC one call works on: the one named, else the locator's answer, asked once per call as the script
 * does (a HandlerContext is one call).
 */
const serverOfCall = new WeakMap<HandlerContext, string>();
function serverFor(ctx: HandlerContext, params: Params): string {
  const known = serverOfCall.get(ctx);
  if (known) return known;
  const directory = ctx.directory;
  let server = params.DomainController ?? ctx.settings.domainController;
  if (!params.DomainController && directory.domainControllers && directory.domainControllers.length > 0) {
    const turn = directory.locatorNext ?? 0;
    server = directory.domainControllers[turn % directory.domainControllers.length];
    directory.locatorNext = turn + 1;
  }
  serverOfCall.set(ctx, server);
  return server;
}

/** TrustedForDelegation as one DC reads it: a write made on another DC reaches it only after replication. */
function flagOn(ctx: HandlerContext, computer: LabComputerObject, server: string): boolean {
  const pending = computer.replication;
  if (pending && pending.writtenOn.toLowerCase() !== server.toLowerCase() && ctx.now < new Date(pending.replicatesAt)) {
    return pending.staleTrustedForDelegation;
  }
  return computer.trustedForDelegation;
}

function evidence(ctx: HandlerContext, params: Params) {
  const computer = ctx.computer(params.ComputerName);
  return {
    samAccountName: computer?.samAccountName,
    objectGuid: computer?.objectGuid,
    domainController: serverFor(ctx, params),
    dnsHostName: computer?.dnsHostName,
  };
}

/** Why Kerberos will never forward a ticket of Monosync's account, or null when it can be delegated. */
function notDelegatable(ctx: HandlerContext, params: Params, server: string) {
  const sid = accountSid(params.ServiceAccount);
  const user = ctx.directory.users?.[sid];
  if (!user) return notFound(ctx, sid, 'GetADUser');
  const reasons: string[] = [];
  if (user.accountNotDelegated) reasons.push("it is marked 'Account is sensitive and cannot be delegated'");
  const protectedUsers = protectedUsersSid(sid);
  if (user.groupSids.includes(protectedUsers)) reasons.push(`it is a member of Protected Users (${protectedUsers})`);
  if (reasons.length === 0) return null;
  return fail(
    'DelegationBlocked',
    `delegation cannot work for ${params.ServiceAccount} on ${server}: ${reasons.join(' and ')}, so Kerberos never forwards its tickets; take it out of Protected Users and clear 'Account is sensitive', or set policy.delegation: skip and remove the second hop`
  );
}

/** What the script refuses in any string of a request or a saved state (powershell/MonosyncCommon.ps1). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

const model: StateStep<State, Params> = {
  module: step,
  read(ctx, params) {
    const server = serverFor(ctx, params);
    const computer = ctx.computer(params.ComputerName);
    const sam = `${params.ComputerName}$`;
    if (!computer) return notFound(ctx, sam);
    const dnsHostName = computer.dnsHostName.replace(/\.$/, '');
    if (dnsHostName.toLowerCase() !== params.Fqdn.toLowerCase()) {
      const found = computer.dnsHostName ? `its DNSHostName is ${computer.dnsHostName}` : 'it has no DNSHostName';
      return fail(
        'ADComputerMismatch',
        `${sam} on ${server} is not the computer object of ${params.Fqdn} (${found}); a computer name is at most 15 characters, so set computerName: for ${params.Fqdn} in the fleet file to the sAMAccountName (without the $) of its own object`
      );
    }
    return {
      distinguishedName: computer.distinguishedName,
      trustedForDelegation: flagOn(ctx, computer, server),
      trustedToAuthForDelegation: computer.trustedToAuthForDelegation,
      allowedToDelegateTo: [...computer.allowedToDelegateTo],
      resourceBasedDelegation: computer.resourceBasedDelegation,
    };
  },
  desire(ctx, params, before) {
    if (params.TrustedForDelegation) {
      const blocked = notDelegatable(ctx, params, serverFor(ctx, params));
      if (blocked) return blocked;
    }
    return { state: { ...before, trustedForDelegation: params.TrustedForDelegation }, evidence: evidence(ctx, params) };
  },
  write(ctx, params, _from, to) {
    const computer = ctx.computer(params.ComputerName);
    if (!computer) return;
    const server = serverFor(ctx, params);
    const delay = ctx.directory.replicationDelayMs ?? 0;
    const others = (ctx.directory.domainControllers ?? []).filter((dc) => dc.toLowerCase() !== server.toLowerCase());
    if (delay > 0 && others.length > 0) {
      // What the other DCs read until replication: their value now, which an earlier pending write may still hold.
      const stale = flagOn(ctx, computer, others[0]);
      computer.replication = {
        writtenOn: server,
        replicatesAt: new Date(ctx.now.getTime() + delay).toISOString(),
        staleTrustedForDelegation: stale,
      };
    } else {
      delete computer.replication;
    }
    computer.trustedForDelegation = to.trustedForDelegation;
  },
  // Only the flag this step sets is undone; other delegation settings belong to someone else. The saved
  // state must be this object's (its DN, compared as AD does, ignoring case) and hold no control characters:
  // anything else is not what an earlier plan of this step reported, and is refused, never guessed.
  restore(ctx, params, current, target) {
    if ([target.distinguishedName, ...target.allowedToDelegateTo].some((v) => CONTROL.test(v))) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved state holds a control character`
      );
    }
    if (target.distinguishedName.toLowerCase() !== current.distinguishedName.toLowerCase()) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved state is of ${target.distinguishedName}, not of ${current.distinguishedName}`
      );
    }
    return {
      state: { ...current, trustedForDelegation: target.trustedForDelegation },
      evidence: evidence(ctx, params),
    };
  },
};

export const enableKerberosDelegationLab: Handler = (ctx) => runStateStep(model, ctx);
