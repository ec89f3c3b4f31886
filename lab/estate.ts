/**
 * The simulated Windows estate: Exchange hosts, Active Directory and the Monosync worker, held as one
 * JSON document. Hosts are created on first touch from their assigned profile, so a 5,000-server
 * fleet costs memory only for the servers a run has reached.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ENVELOPE_SCHEMA_ID, type StepEnvelope } from '../domain/envelope';
import { defaultComputerName } from '../domain/fleet';
import type { ScriptCall } from '../domain/scripts';
import { STEPS, type ScriptName } from '../domain/steps';
import { serverOf, targetLabel } from '../runner/port';
import { DAY_MS } from './certificates';
import { takeFault } from './faults';
import { faultError, CONNECTION_DROPPED } from './fault-errors';
import { accountSid, downLevelName, normaliseFqdn } from './identity';
import {
  LAB_STATE_SCHEMA,
  type FaultRule,
  type LabComputerObject,
  type LabDirectory,
  type LabHost,
  type LabSettings,
  type LabState,
  type LabUserObject,
  type LabWorker,
  type ScriptCounter,
} from './model';
import { buildHost, type ProfileName } from './profiles';
import { errorClass, failed, type HandlerContext, type HandlerResult } from './state-step';
import { MODEL_OF_SCRIPT } from './step-models';
import { runRemotingTask } from '../steps/Enable-Remoting/lab';

export type LabOutcome = { kind: 'envelope'; envelope: StepEnvelope } | { kind: 'hang'; delayMs?: number };

export interface LabCreateOptions {
  settings?: Partial<LabSettings>;
  seed?: number;
  now?: Date;
}

export const DEFAULT_LAB_SETTINGS: LabSettings = {
  domain: 'corp.example',
  domainController: 'dc01.corp.example',
  serviceAccount: 'CORP\\monosync_svc',
  monosyncServers: ['10.0.0.10'],
  defaultProfile: 'fresh',
  cbtHardeningLevel: 'Relaxed',
};

/** Changes that restart WinRM or rebind the listener the session travels on. */
const CONNECTION_CUTTING: readonly ScriptName[] = STEPS.filter((s) => s.cutsConnection).map((s) => s.script);

/** Read-only scripts report a failed check as `changed`; that is not a change to count. */
const READ_ONLY_SCRIPTS: readonly ScriptName[] = STEPS.filter((s) => s.readOnly).map((s) => s.script);

/**
 * What New-PSSession / Invoke-Command print while WinRM on the target restarts (PSRemotingTransportException,
 * ErrorCode 0x80338012 ERROR_WSMAN_CANNOTCONNECT, FQID CannotConnect,PSSessionOpenFailed).
 */
const WINRM_RESTARTING = {
  code: '0x80338012',
  message: (fqdn: string) =>
    `[${fqdn}] Connecting to remote server ${fqdn} failed with the following error message : The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig". For more information, see the about_Remote_Troubleshooting Help topic.`,
} as const;

export class LabEstate {
  /** Computer name → FQDN over hosts and assignments; rebuilt on demand, never persisted. */
  private computerIndex: Map<string, string> | null = null;

  private constructor(private readonly state: LabState) {}

  static create(options: LabCreateOptions = {}): LabEstate {
    const settings: LabSettings = { ...DEFAULT_LAB_SETTINGS, ...options.settings };
    const seed = options.seed ?? 1;
    return new LabEstate({
      schema: LAB_STATE_SCHEMA,
      settings,
      clock: { offsetMs: options.now ? options.now.getTime() - Date.now() : 0 },
      hosts: {},
      assignments: {},
      ad: { computers: {}, users: serviceAccountUsers(settings.serviceAccount) },
      worker: { trustedHosts: { value: '', policyControlled: false }, addresses: [...settings.monosyncServers] },
      counters: {},
      faults: { seed, rng: seed, injected: 0, nextId: 1, rules: [] },
    });
  }

  static fromJSON(state: LabState): LabEstate {
    const doc: unknown = state;
    if (typeof doc !== 'object' || doc === null || (doc as { schema?: unknown }).schema !== LAB_STATE_SCHEMA) {
      throw new Error(`not a lab estate: expected schema ${LAB_STATE_SCHEMA}`);
    }
    for (const key of ['settings', 'hosts', 'assignments', 'ad', 'worker', 'counters', 'faults'] as const) {
      if (typeof state[key] !== 'object' || state[key] === null) throw new Error(`lab estate lacks "${key}"`);
    }
    const copy = structuredClone(state);
    copy.clock ??= { offsetMs: 0 };
    copy.ad.users ??= serviceAccountUsers(copy.settings.serviceAccount);
    return new LabEstate(copy);
  }

  static load(file: string): LabEstate {
    return LabEstate.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')) as LabState);
  }

  /** Readers in other processes see the old or the new file, never half of one. */
  save(file: string): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state));
    fs.renameSync(tmp, file);
  }

  toJSON(): LabState {
    return structuredClone(this.state);
  }

  get settings(): Readonly<LabSettings> {
    return this.state.settings;
  }

  get worker(): LabWorker {
    return this.state.worker;
  }

  /** `computerName`: the NetBIOS name the host was joined with, when it is not Windows' default. */
  assign(fqdn: string, profile: ProfileName, computerName?: string): void {
    const name = normaliseFqdn(fqdn);
    this.state.assignments[name] = profile;
    if (computerName !== undefined) (this.state.computerNames ??= {})[name] = computerName.toUpperCase();
    this.computerIndex?.set(this.computerNameOf(name), name);
  }

  private computerNameOf(fqdn: string): string {
    return this.state.computerNames?.[fqdn] ?? defaultComputerName(fqdn);
  }

  host(fqdn: string): LabHost {
    const name = normaliseFqdn(fqdn);
    const existing = this.state.hosts[name];
    if (existing) return existing;
    const profile = this.state.assignments[name] ?? this.state.settings.defaultProfile;
    const built = buildHost(profile, {
      fqdn: name,
      computerName: this.computerNameOf(name),
      settings: this.state.settings,
      seed: this.state.faults.seed,
      now: this.now(),
    });
    this.state.hosts[name] = built.host;
    if (built.computer) this.state.ad.computers[built.computer.samAccountName.toUpperCase()] = built.computer;
    this.computerIndex?.set(built.host.computerName.toUpperCase(), name);
    return built.host;
  }

  computer(computerName: string): LabComputerObject | undefined {
    const short = computerName.trim().toUpperCase().replace(/\$$/, '');
    const sam = `${short}$`;
    const found = this.state.ad.computers[sam];
    if (found) return found;
    const fqdn = this.fqdnOfComputer(short);
    // A host that exists without an AD object is outside the domain (Edge Transport).
    if (this.state.hosts[fqdn]) return undefined;
    this.host(fqdn);
    return this.state.ad.computers[sam];
  }

  /** The user object of an account (DOMAIN\user or user@dns.domain), by its SID as Windows finds it. */
  user(account: string): LabUserObject | undefined {
    return this.state.ad.users?.[accountSid(account)];
  }

  /**
   * Several domain controllers: the DC locator answers with each in turn, and a change written on one
   * reaches the others only `replicationDelayMs` (lab time) later.
   */
  useDomainControllers(domainControllers: string[], replicationDelayMs: number): void {
    this.state.ad.domainControllers = domainControllers.map(normaliseFqdn);
    this.state.ad.locatorNext = 0;
    this.state.ad.replicationDelayMs = replicationDelayMs;
  }

  now(): Date {
    return new Date(Date.now() + this.state.clock.offsetMs);
  }

  setNow(date: Date): void {
    this.state.clock.offsetMs = date.getTime() - Date.now();
  }

  advanceDays(days: number): void {
    this.state.clock.offsetMs += days * DAY_MS;
  }

  injectFault(rule: Omit<FaultRule, 'id' | 'hits' | 'when'> & { when?: FaultRule['when'] }): string {
    const faults = this.state.faults;
    const id = `fault-${faults.nextId}`;
    faults.nextId += 1;
    faults.injected += 1;
    faults.rules.push({
      ...rule,
      ...(rule.host !== undefined ? { host: normaliseFqdn(rule.host) } : {}),
      id,
      when: rule.when ?? 'before-change',
      hits: 0,
    });
    return id;
  }

  clearFaults(): void {
    this.state.faults.rules = [];
  }

  counters(fqdn: string): Partial<Record<ScriptName, ScriptCounter>> {
    return structuredClone(this.state.counters[normaliseFqdn(fqdn)] ?? {});
  }

  /**
   * The server a call is about: the port's answer (`serverOf`: the Exchange target or the worker's
   * `onBehalfOf`), else, for an AD call, the host of the computer object it names.
   */
  subjectOf(call: ScriptCall): string {
    const server = serverOf(call.target);
    if (server !== null) return server;
    const name = typeof call.params.ComputerName === 'string' ? call.params.ComputerName : '';
    const short = name.trim().toUpperCase().replace(/\$$/, '');
    return this.state.ad.computers[`${short}$`]?.dnsHostName ?? this.fqdnOfComputer(short);
  }

  /**
   * Whether WinRM on the Exchange host a session is about to reach answers. A one-shot task the
   * Enable-Remoting step started runs now (the script that started it has returned), restarting WinRM;
   * from then on `winrmRestartRefuses` sessions (default 2) fail to connect, as they do while WinRM
   * restarts, and the next one gets through. Returns the connection failure, or null when WinRM answers.
   * Called by the lab runner before a session opens; `execute` alone (the script contract) never fires it.
   */
  winrmRefusal(call: ScriptCall): { code: string; message: string } | null {
    if (call.target.host !== 'exchange') return null;
    const fqdn = normaliseFqdn(call.target.fqdn);
    const host = this.state.hosts[fqdn];
    if (!host) return null;
    if (runRemotingTask(host)) host.winrmRestart = { unanswered: host.winrmRestartRefuses ?? 2 };
    const left = host.winrmRestart?.unanswered ?? 0;
    if (left <= 0) return null;
    if (left > 1) host.winrmRestart = { unanswered: left - 1 };
    else delete host.winrmRestart;
    const counter = this.counter(fqdn, call.script);
    counter.calls += 1;
    counter.faults += 1;
    return { code: WINRM_RESTARTING.code, message: WINRM_RESTARTING.message(fqdn) };
  }

  execute(call: ScriptCall): LabOutcome {
    const subject = this.subjectOf(call);
    const counter = this.counter(subject, call.script);
    counter.calls += 1;
    const fault = takeFault(this.state.faults, { call, host: subject }, ['error', 'hang']);
    if (fault?.kind === 'hang') {
      counter.faults += 1;
      return { kind: 'hang', ...(fault.delayMs !== undefined ? { delayMs: fault.delayMs } : {}) };
    }
    if (fault && fault.when === 'before-change') {
      counter.faults += 1;
      return this.envelope(call, failed(faultError(fault)));
    }

    const result = MODEL_OF_SCRIPT[call.script](this.context(call, subject, counter));
    if (call.mode === 'apply' && result.ok && result.changed && !READ_ONLY_SCRIPTS.includes(call.script)) {
      counter.changes += 1;
    }
    if (fault) {
      counter.faults += 1;
      return this.envelope(call, { ...result, ok: false, error: faultError(fault) });
    }
    const host = call.target.host === 'exchange' ? this.state.hosts[subject] : undefined;
    if (
      call.mode === 'apply' &&
      result.changed &&
      host?.dropsConnectionOnRestart &&
      CONNECTION_CUTTING.includes(call.script)
    ) {
      return this.envelope(call, {
        ...result,
        ok: false,
        error: { class: errorClass(CONNECTION_DROPPED.code), ...CONNECTION_DROPPED },
      });
    }
    return this.envelope(call, result);
  }

  private context(call: ScriptCall, subject: string, counter: ScriptCounter): HandlerContext {
    return {
      call,
      subject,
      now: this.now(),
      settings: this.state.settings,
      worker: this.state.worker,
      directory: this.state.ad,
      host: (fqdn) => this.host(fqdn),
      computer: (name) => this.computer(name),
      tlsVerifyFails: (fqdn) => {
        const hit = takeFault(this.state.faults, { call, host: normaliseFqdn(fqdn) }, ['tls-verify-fails']);
        if (hit) counter.faults += 1;
        return hit !== undefined;
      },
    };
  }

  private envelope(call: ScriptCall, result: HandlerResult): LabOutcome {
    const envelope: StepEnvelope = {
      schema: ENVELOPE_SCHEMA_ID,
      script: call.script,
      target: targetLabel(call.target),
      mode: call.mode,
      ok: result.ok,
      compliant: result.compliant,
      changed: result.changed,
      before: result.before,
      after: result.after,
      evidence: result.evidence,
      warnings: result.warnings,
      ...(result.error ? { error: result.error } : {}),
    };
    return { kind: 'envelope', envelope };
  }

  private counter(subject: string, script: ScriptName): ScriptCounter {
    const perHost = (this.state.counters[subject] ??= {});
    return (perHost[script] ??= { calls: 0, changes: 0, faults: 0 });
  }

  private fqdnOfComputer(short: string): string {
    if (!this.computerIndex) {
      this.computerIndex = new Map();
      for (const fqdn of Object.keys(this.state.assignments)) this.computerIndex.set(this.computerNameOf(fqdn), fqdn);
      for (const host of Object.values(this.state.hosts))
        this.computerIndex.set(host.computerName.toUpperCase(), host.fqdn);
    }
    return this.computerIndex.get(short) ?? `${short.toLowerCase()}.${this.state.settings.domain}`;
  }
}

/** The directory of a new estate holds its service account: an ordinary user, delegatable. */
function serviceAccountUsers(serviceAccount: string): NonNullable<LabDirectory['users']> {
  const sid = accountSid(serviceAccount);
  const samAccountName = downLevelName(serviceAccount).split('\\')[1];
  return { [sid]: { samAccountName, sid, accountNotDelegated: false, groupSids: [] } };
}
