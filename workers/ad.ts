/**
 * Worker for the AD task queue: the delegation step only. Run it on the AD management host (RSAT
 * ActiveDirectory module): the step runs in this worker's own PowerShell and names its domain controller
 * with -Server, never in a session on a DC or on an Exchange server (powershell/command.ts remoteComputer).
 * All its runs use one DC: the fleet's domainController, else the first one the locator found
 * (steps/Enable-KerberosDelegation/pin-domain-controller.ts, wired in createAdWorker). Its calls at once
 * are the AD budget (FLEET_AD_CONCURRENCY, default 8; runner/call-budget.ts), so a fleet run cannot flood
 * the domain controllers; it runs a quarter more steps than that, which wait for a call's turn.
 */
import { createAdWorker } from './create-workers';
import { main } from './run-worker';

main('AD', async (w) => [await createAdWorker(w)]);
