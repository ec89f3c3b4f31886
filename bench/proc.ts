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
}

export function readProc(pid: number): ProcReading | undefined {
  try {
    return {
      cpuSeconds: cpuSecondsFromProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), ticksPerSecond()),
      rssBytes: memoryFromProcStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS'),
    };
  } catch {
    return undefined;
  }
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
