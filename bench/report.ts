/**
 * What a benchmark run leaves behind: the figures (JSON, read back through `benchResultSchema`), the
 * Markdown report, and the README table of the latest run (`npm run bench -- --readme`).
 */
import { z } from 'zod';

const spreadSchema = z.object({ count: z.number(), mean: z.number(), p95: z.number(), max: z.number() });
const usageSchema = z.object({ cpuSeconds: z.number(), peakRssMB: z.number() });
/** The bench process's CPU seconds by kind of thread (bench/proc.ts `threadCpu`); absent where /proc is not. */
const threadsSchema = z.object({ main: z.number(), sdkCore: z.number(), other: z.number() });

export const phaseFiguresSchema = z.object({
  wallSeconds: z.number(),
  serversPerSecond: z.number(),
  inFlight: z.object({ mean: z.number(), max: z.number(), series: z.array(z.number()) }),
  historyEventsPerServer: spreadSchema,
  historyEventsPerFleetRun: z.array(z.number()),
  /** Encoded history bytes of one server, and of each fleet run (absent in older results). */
  historyBytesPerServer: spreadSchema.optional(),
  historyBytesPerFleetRun: z.array(z.number()).optional(),
  /** Mean encoded bytes of the events of each type in one server's history (absent in older results). */
  bytesPerServerByType: z.record(z.string(), z.number()).optional(),
  /** The fleet's view of its servers: ask-to-start and close-to-noticed, ms (absent in older results). */
  childStartMs: spreadSchema.optional(),
  childCloseMs: spreadSchema.optional(),
  /** Where a server run's time went, mean ms (bench/figures.ts `runTime`; absent in older results). */
  serverTime: z
    .object({
      spanMs: z.number(),
      workflowTaskWaitMs: z.number(),
      workflowTaskRunMs: z.number(),
      activityWaitMs: z.number(),
      activityRunMs: z.number(),
    })
    .optional(),
  /** Server activities by type: how many, mean wait for a worker and mean run in ms (absent in older results). */
  activities: z.record(z.string(), z.object({ count: z.number(), waitMs: z.number(), runMs: z.number() })).optional(),
  /** Mean events of each type in one server's history. */
  eventsPerServerByType: z.record(z.string(), z.number()),
  /** Events of each type over all fleet (parent) runs. */
  eventsPerFleetByType: z.record(z.string(), z.number()),
  workflowTaskRunMs: z.object({ fleet: spreadSchema, server: spreadSchema }),
  /** Fleet runs whose end was retried because events arrived meanwhile: runs, failed tasks, ms (absent in older results). */
  fleetEndRetries: z.object({ runs: z.number(), failedTasks: z.number(), lostMs: z.number() }).optional(),
  workflowTaskWaitMs: z.object({ fleet: spreadSchema, server: spreadSchema }),
  /** Server activities whose last attempt was a retry, and the attempts beyond the first (absent in older results). */
  retries: z.object({ activities: z.number(), extraAttempts: z.number() }).optional(),
  /** The worker process: the workers (and the baseline's sleeps). */
  worker: usageSchema.extend({ threads: threadsSchema.optional() }),
  /** The product's lab process, the simulated servers (absent for the baseline and in older results). */
  lab: usageSchema.optional(),
  devServer: usageSchema.nullable(),
});
export type PhaseFigures = z.infer<typeof phaseFiguresSchema>;

export const benchResultSchema = z.object({
  date: z.string(),
  commit: z.string(),
  machine: z.object({ cpus: z.number(), loadAverageAtStart: z.array(z.number()) }),
  shape: z.object({
    servers: z.number(),
    maxParallel: z.number(),
    adBudget: z.number(),
    latencyMs: z.number(),
    callsPerServer: z.number(),
    adCallsPerServer: z.number(),
  }),
  baselineSteps: z.array(z.object({ name: z.string(), sleepMs: z.number(), ad: z.boolean() })),
  tuning: z.record(z.string(), z.unknown()),
  /** `--server-config`: the dev server's dynamic config for both runs (absent in older results). */
  serverConfig: z.record(z.string(), z.unknown()).optional(),
  floorSeconds: z.number(),
  product: phaseFiguresSchema,
  baseline: phaseFiguresSchema.nullable(),
  /** `--faults`: the product again with that share of lab calls failing transiently (absent in older results). */
  faults: z
    .object({ rate: z.number(), product: phaseFiguresSchema, ratioToFaultFree: z.number().nullable() })
    .nullable()
    .optional(),
  ratios: z.object({
    productToBaseline: z.number().nullable(),
    productToFloor: z.number().nullable(),
    baselineToFloor: z.number().nullable(),
  }),
  failures: z.array(z.string()),
});
export type BenchResult = z.infer<typeof benchResultSchema>;

const n = (v: number, digits = 0): string =>
  v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const x = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)} ×`);

/** The figures side by side: one row per figure, product and baseline columns. */
export function figuresTable(r: BenchResult): string {
  const rows: Array<[string, (p: PhaseFigures) => string]> = [
    ['wall time', (p) => `${n(p.wallSeconds, 1)} s`],
    ['servers/s', (p) => n(p.serversPerSecond, 1)],
    ['servers in flight: mean / max', (p) => `${n(p.inFlight.mean, 1)} / ${p.inFlight.max} of ${r.shape.maxParallel}`],
    [
      'history events per server: mean / max',
      (p) => `${n(p.historyEventsPerServer.mean, 1)} / ${p.historyEventsPerServer.max}`,
    ],
    [
      'history events per fleet run (runs)',
      (p) =>
        `${p.historyEventsPerFleetRun.length > 0 ? Math.max(...p.historyEventsPerFleetRun) : 0} max (${p.historyEventsPerFleetRun.length})`,
    ],
    [
      'history kB per server: mean / max; per fleet run: max',
      (p) =>
        p.historyBytesPerServer && p.historyBytesPerFleetRun
          ? `${n(p.historyBytesPerServer.mean / 1024, 1)} / ${n(p.historyBytesPerServer.max / 1024, 1)}; ${n(Math.max(0, ...p.historyBytesPerFleetRun) / 1024)}`
          : 'n/a',
    ],
    [
      'slowest workflow task: fleet / server',
      (p) => `${n(p.workflowTaskRunMs.fleet.max)} / ${n(p.workflowTaskRunMs.server.max)} ms`,
    ],
    [
      'fleet run ends retried (events arrived meanwhile): runs / tasks / time',
      (p) =>
        p.fleetEndRetries
          ? `${p.fleetEndRetries.runs} of ${p.historyEventsPerFleetRun.length} / ${p.fleetEndRetries.failedTasks} / ${n(p.fleetEndRetries.lostMs / 1000, 1)} s`
          : 'n/a',
    ],
    [
      'workflow task wait p95: fleet / server',
      (p) => `${n(p.workflowTaskWaitMs.fleet.p95)} / ${n(p.workflowTaskWaitMs.server.p95)} ms`,
    ],
    ['worker process: CPU / peak RSS', (p) => `${n(p.worker.cpuSeconds, 1)} s / ${n(p.worker.peakRssMB)} MB`],
    [
      'worker CPU: main thread / SDK core / other threads',
      (p) =>
        p.worker.threads
          ? `${n(p.worker.threads.main, 1)} / ${n(p.worker.threads.sdkCore, 1)} / ${n(p.worker.threads.other, 1)} s`
          : 'n/a',
    ],
    [
      'lab process (the simulated servers): CPU / peak RSS',
      (p) => (p.lab ? `${n(p.lab.cpuSeconds, 1)} s / ${n(p.lab.peakRssMB)} MB` : 'none'),
    ],
    [
      'activities retried (attempts beyond the first)',
      (p) => (p.retries ? `${n(p.retries.activities)} (${n(p.retries.extraAttempts)})` : 'n/a'),
    ],
    [
      'dev server: CPU / peak RSS',
      (p) => (p.devServer ? `${n(p.devServer.cpuSeconds, 1)} s / ${n(p.devServer.peakRssMB)} MB` : 'n/a'),
    ],
  ];
  const lines = ['| figure | product | bare-SDK baseline |', '| --- | --- | --- |'];
  for (const [name, cell] of rows)
    lines.push(`| ${name} | ${cell(r.product)} | ${r.baseline ? cell(r.baseline) : 'not run'} |`);
  lines.push(
    `| ratio to the remote-call floor (${n(r.floorSeconds, 1)} s) | ${x(r.ratios.productToFloor)} | ${x(r.ratios.baselineToFloor)} |`
  );
  lines.push(`| product / baseline | ${x(r.ratios.productToBaseline)} | |`);
  return lines.join('\n');
}

/** The run with faults (`--faults`), in one line; empty when there was none. */
export function faultsLine(r: BenchResult): string {
  const f = r.faults;
  if (!f) return '';
  const retried = f.product.retries;
  return (
    `With ${n(f.rate * 100)} % of the lab's calls failing transiently (WinRM operations timing out): ` +
    `${n(f.product.wallSeconds, 1)} s, ${x(f.ratioToFaultFree)} the fault-free run; ` +
    `${retried ? `${n(retried.activities)} activities retried (${n(retried.extraAttempts)} attempts beyond the first)` : 'retries not counted'}.`
  );
}

export function shapeLine(r: BenchResult): string {
  const s = r.shape;
  return (
    `N = ${n(s.servers)} servers, C = ${s.maxParallel}, AD budget ${s.adBudget}, L = ${s.latencyMs} ms; ` +
    `${n(s.callsPerServer, 1)} calls per server (${n(s.adCallsPerServer, 1)} against AD). ` +
    `${r.date}, commit ${r.commit.slice(0, 10)}, ${r.machine.cpus} CPUs, load average at start ${r.machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')}.`
  );
}

function typeTable(title: string, counts: Record<string, number>, digits: number): string {
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return [`| ${title} | count |`, '| --- | --- |', ...sorted.map(([k, v]) => `| ${k} | ${n(v, digits)} |`)].join('\n');
}

/** Mean wait and run of each kind of server activity, product and baseline. */
function activityTable(r: BenchResult): string[] {
  const rows = (label: string, p: PhaseFigures | null) =>
    Object.entries(p?.activities ?? {}).map(
      ([type, a]) => `| ${label} | ${type} | ${n(a.count)} | ${n(a.waitMs)} | ${n(a.runMs)} |`
    );
  const lines = [...rows('product', r.product), ...rows('baseline', r.baseline)];
  if (lines.length === 0) return [];
  const time = (label: string, p: PhaseFigures | null) => {
    const t = p?.serverTime;
    return t
      ? [
          `${label}: ${n(t.spanMs)} ms from start to close, of which workflow tasks ${n(t.workflowTaskWaitMs)} waiting + ${n(t.workflowTaskRunMs)} running, activities ${n(t.activityWaitMs)} waiting + ${n(t.activityRunMs)} running.`,
        ]
      : [];
  };
  return [
    '## Server activities: mean wait for a worker and run (ms)',
    '',
    '| run | activity | count | wait | run |',
    '| --- | --- | --- | --- | --- |',
    ...lines,
    '',
    'A server run, mean: ' + [...time('product', r.product), ...time('baseline', r.baseline)].join(' '),
    '',
    'The fleet starting a server (asked → started) and noticing its close (closed → its next task done), mean / p95 ms: ' +
      [
        ['product', r.product],
        ['baseline', r.baseline],
      ]
        .flatMap(([label, p]) => {
          const f = p as PhaseFigures | null;
          return f?.childStartMs && f.childCloseMs
            ? [
                `${String(label)} ${n(f.childStartMs.mean)} / ${n(f.childStartMs.p95)} and ${n(f.childCloseMs.mean)} / ${n(f.childCloseMs.p95)}`,
              ]
            : [];
        })
        .join('; ') +
      '.',
    '',
  ];
}

export function renderMarkdown(r: BenchResult): string {
  const series = (p: PhaseFigures | null): string =>
    p ? p.inFlight.series.map((v) => v.toFixed(0)).join(' ') : 'not run';
  return [
    `# Benchmark: product against a bare-SDK baseline`,
    '',
    shapeLine(r),
    '',
    figuresTable(r),
    '',
    ...(r.faults ? [faultsLine(r), ''] : []),
    `Servers in flight, mean per tenth of the run: product ${series(r.product)}; baseline ${series(r.baseline)}.`,
    '',
    `Baseline steps (sleep per server): ${r.baselineSteps.map((s) => `${s.name} ${s.sleepMs} ms${s.ad ? ' (AD)' : ''}`).join(', ')}.`,
    '',
    `Worker tuning: ${Object.keys(r.tuning).length > 0 ? JSON.stringify(r.tuning) : 'SDK defaults'}.`,
    '',
    ...(r.serverConfig ? [serverSettingsLine(r), ''] : []),
    '## Product events per server (mean)',
    '',
    typeTable('event', r.product.eventsPerServerByType, 1),
    '',
    ...activityTable(r),
    ...(r.product.bytesPerServerByType
      ? ['## Product history bytes per server (mean)', '', typeTable('event', r.product.bytesPerServerByType, 0), '']
      : []),
    ...(r.baseline?.bytesPerServerByType
      ? ['## Baseline history bytes per server (mean)', '', typeTable('event', r.baseline.bytesPerServerByType, 0), '']
      : []),
    '## Product events over all fleet runs',
    '',
    typeTable('event', r.product.eventsPerFleetByType, 0),
    '',
    r.failures.length > 0 ? `## Checks FAILED\n\n${r.failures.map((f) => `- ${f}`).join('\n')}` : 'All checks passed.',
    '',
  ].join('\n');
}

/** The dev server's dynamic config the run used (`--server-config`), or '' for results that did not record it. */
export function serverSettingsLine(r: BenchResult): string {
  return r.serverConfig ? `Dev server settings (both runs): ${JSON.stringify(r.serverConfig)}.` : '';
}

export const README_START = '<!-- bench-table:start (npm run bench -- --readme) -->';
export const README_END = '<!-- bench-table:end -->';

/** The README with the table between the markers replaced by the given run's; throws if a marker is missing. */
export function withReadmeTable(readme: string, r: BenchResult): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${README_START}" … "${README_END}" block`);
  const faults = r.faults ? `\n\n${faultsLine(r)}` : '';
  const settings = r.serverConfig ? `\n\n${serverSettingsLine(r)}` : '';
  const block = `${README_START}\n${shapeLine(r)}\n\n${figuresTable(r)}${faults}${settings}\n${README_END}`;
  return readme.slice(0, start) + block + readme.slice(end + README_END.length);
}
