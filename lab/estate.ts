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
import { updateStateFile, writeFileAtomically } from './state-file';
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
import { transportErrorText } from './session-text';

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
  /** The file this estate shares with other processes (`LabEstate.shared`); null for one held in memory. */
  private sharedFile: string | null = null;

  // Not readonly: a shared estate takes the file's latest state before each call.
  private constructor(private state: LabState) {}

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
    writeFileAtomically(file, JSON.stringify(this.state));
  }

  /**
   * The estate in `file` as worker processes share it (FLEET_LAB_STATE): every call that reads or changes
   * the estate (`execute`, `winrmRefusal`) takes the file's lock, reads its latest state, and writes the
   * result back before the lock is released, so concurrent processes never lose each other's updates and
   * a killed process loses at most the call it was in. A missing file starts as a new estate. Other
   * readers (`host`, `counters`, `toJSON`) see the state as of this process's last call: for the file's
   * latest, `LabEstate.load` it.
   */
  static shared(file: string, options: LabCreateOptions = {}): LabEstate {
    const estate = updateStateFile(file, (text) => {
      if (text !== null) return { value: LabEstate.fromJSON(JSON.parse(text) as LabState) };
      const created = LabEstate.create(options);
      return { text: JSON.stringify(created.state), value: created };
    });
    estate.sharedFile = path.resolve(file);
    return estate;
  }

  /** Runs `fn` on the shared file's latest state under its lock and saves what it changed. */
  private transact<T>(fn: () => T): T {
    const file = this.sharedFile;
    if (file === null) return fn();
    return updateStateFile(file, (text) => {
      if (text !== null) {
        this.state = LabEstate.fromJSON(JSON.parse(text) as LabState).state;
        this.computerIndex = null;
      }
      const value = fn();
      return { text: JSON.stringify(this.state), value };
    });
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
   * How many times each step's change was applied, per server (read-only checks and calls that changed
   * nothing do not count): the evidence that a retried or replayed step did not apply its change twice.
   */
  applications(): Record<string, Partial<Record<ScriptName, number>>> {
    const out: Record<string, Partial<Record<ScriptName, number>>> = {};
    for (const [fqdn, scripts] of Object.entries(this.state.counters)) {
      for (const [script, counter] of Object.entries(scripts) as [ScriptName, ScriptCounter][]) {
        if (counter.changes > 0) (out[fqdn] ??= {})[script] = counter.changes;
      }
    }
    return out;
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
   * Whether the Exchange host a session is about to reach accepts it, as Windows decides before any script
   * runs. Returns the printed refusal (Invoke-Command's error record), or null when the session opens:
   * - a one-shot task the Enable-Remoting step started runs now (the script that started it has returned),
   *   restarting WinRM: sessions already open are dropped (`droppedSince`), and from then on
   *   `winrmRestartRefuses` sessions (default 2) fail to connect, as they do while WinRM restarts;
   * - 'Allow remote server management through WinRM' with both filters empty: WinRM listens on no address;
   * - a host outside the domain (Edge Transport, workgroup): Kerberos cannot find it;
   * - UAC remote restrictions on a local non-built-in administrator: 'Access is denied.'.
   * Called by the lab runner when a session opens; `execute` alone (the script contract) never refuses.
   */
  winrmRefusal(call: ScriptCall): { code: string; message: string } | null {
    return this.transact(() => this.winrmRefusalNow(call));
  }

  private winrmRefusalNow(call: ScriptCall): { code: string; message: string } | null {
    if (call.target.host !== 'exchange') return null;
    const fqdn = normaliseFqdn(call.target.fqdn);
    // Built on first touch like any host: a server's first session is refused as much as its later ones.
    const refused = sessionRefusal(this.host(fqdn));
    if (!refused) return null;
    const counter = this.counter(fqdn, call.script);
    counter.calls += 1;
    counter.faults += 1;
    return refused;
  }

  /**
   * How many times WinRM on the call's Exchange host has restarted; null for calls that open no session there.
   * Read from the state in hand, without the shared file's lock: called right after `winrmRefusal`, it sees
   * the state that call read under the lock, the moment the session opened.
   */
  winrmRestartsOf(call: ScriptCall): number | null {
    if (call.target.host !== 'exchange') return null;
    return this.state.hosts[normaliseFqdn(call.target.fqdn)]?.winrmRestarts ?? 0;
  }

  /**
   * A session opened when WinRM had restarted `opened` times returns now: if WinRM restarted since, the
   * restart ended its shell mid-call and the script's end never came back (995, ConnectionDropped).
   */
  droppedSince(call: ScriptCall, opened: number | null): { code: string; message: string } | null {
    if (opened === null) return null;
    return this.transact(() => this.droppedSinceNow(call, opened));
  }

  private droppedSinceNow(call: ScriptCall, opened: number): { code: string; message: string } | null {
    const now = this.winrmRestartsOf(call);
    if (now === null || now === opened || call.target.host !== 'exchange') return null;
    const counter = this.counter(normaliseFqdn(call.target.fqdn), call.script);
    counter.calls += 1;
    counter.faults += 1;
    return { code: CONNECTION_DROPPED.code, message: transportErrorText(CONNECTION_DROPPED.code, call.target.fqdn) };
  }

  execute(call: ScriptCall): LabOutcome {
    return this.transact(() => this.executeNow(call));
  }

  private executeNow(call: ScriptCall): LabOutcome {
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

/** Host properties that refuse a session before any script runs (see `LabEstate.winrmRefusal`). */
function sessionRefusal(host: LabHost): { code: string; message: string } | null {
  if (runRemotingTask(host)) {
    host.winrmRestart = { unanswered: host.winrmRestartRefuses ?? 2 };
    host.winrmRestarts = (host.winrmRestarts ?? 0) + 1;
  }
  const left = host.winrmRestart?.unanswered ?? 0;
  if (left > 0) {
    if (left > 1) host.winrmRestart = { unanswered: left - 1 };
    else delete host.winrmRestart;
    return { code: WINRM_RESTARTING.code, message: WINRM_RESTARTING.message(host.fqdn) };
  }
  const policy = host.winrmListenerPolicy;
  // Both filters empty: WinRM listens on no address of either family, so the client's connect to 5985/5986
  // finds nobody; WinRM reports it as 0x80338126 ('WinRM cannot complete the operation...').
  if (policy && policy.ipv4Filter.trim() === '' && policy.ipv6Filter.trim() === '') {
    return { code: '0x80338126', message: transportErrorText('0x80338126', host.fqdn) };
  }
  if (!host.domainJoined) {
    return { code: 'KerberosUnreachable', message: transportErrorText('KerberosUnreachable', host.fqdn) };
  }
  if (host.onboardingAccount === 'local-administrator' && host.localAccountTokenFilterPolicy !== 1) {
    return { code: '5', message: transportErrorText('5', host.fqdn) };
  }
  return null;
}

/** The directory of a new estate holds its service account: an ordinary user, delegatable. */
function serviceAccountUsers(serviceAccount: string): NonNullable<LabDirectory['users']> {
  const sid = accountSid(serviceAccount);
  const samAccountName = downLevelName(serviceAccount).split('\\')[1];
  return { [sid]: { samAccountName, sid, accountNotDelegated: false, groupSids: [] } };
}
