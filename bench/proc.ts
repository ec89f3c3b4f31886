/**
 * CPU and memory of a process as Linux reports them in /proc (the benchmark runs on Linux; elsewhere
 * the figures read as unavailable rather than failing the run).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { cpuSecondsFromProcStat, memoryFromProcStatus } from './figures';

let ticks: number | undefined;
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcReading {
  cpuSeconds: number;
  rssBytes: number;
  /** The most the process has held resident since it started (VmHWM). */
  peakRssBytes: number;
}

export function readProc(pid: number): ProcReading | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      cpuSeconds: cpuSecondsFromProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), ticksPerSecond()),
      rssBytes: memoryFromProcStatus(status, 'VmRSS'),
      peakRssBytes: memoryFromProcStatus(status, 'VmHWM'),
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds of each thread of `pid` by thread id, with the thread's name (`/proc/<pid>/task`). */
export function readThreads(pid: number): Map<number, { name: string; cpuSeconds: number }> {
  const out = new Map<number, { name: string; cpuSeconds: number }>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(Number(tid), { name, cpuSeconds: cpuSecondsFromProcStat(stat, ticksPerSecond()) });
    } catch {
      // A thread that ended while we looked.
    }
  }
  return out;
}

/**
 * Where a process's CPU went between two readings, by kind of thread: the main JavaScript thread (activities,
 * lab, client, the SDK's bridge), the SDK core's Rust threads (`tokio-*`), and all other threads (the
 * workflow sandbox's worker thread, V8's garbage collector and compiler helpers). Threads that ended in
 * between are missed, so read before workers shut down.
 */
export function threadCpu(
  pid: number,
  before: Map<number, { name: string; cpuSeconds: number }>,
  after: Map<number, { name: string; cpuSeconds: number }>
): { main: number; sdkCore: number; other: number } {
  const out = { main: 0, sdkCore: 0, other: 0 };
  for (const [tid, t] of after) {
    const used = t.cpuSeconds - (before.get(tid)?.cpuSeconds ?? 0);
    if (tid === pid) out.main += used;
    else if (t.name.startsWith('tokio')) out.sdkCore += used;
    else out.other += used;
  }
  return out;
}

/** The dev server this process started on `port` (devserver/ spawns the Temporal CLI directly). */
export function findDevServerPid(port: number): number | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const e of entries) {
    try {
      const args = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--port');
      if (args.includes('start-dev') && at >= 0 && args[at + 1] === String(port)) return Number(e);
    } catch {
      // A process that ended while we looked.
    }
  }
  return undefined;
}
