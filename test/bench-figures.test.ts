import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import {
  cpuSecondsFromProcStat,
  endRetries,
  eventTypeCounts,
  inFlightStats,
  memoryFromProcStatus,
  ratio,
  remoteCallFloorMs,
  spread,
  workflowTaskTimes,
} from '../bench/figures';
import { HistoryDigest } from '../bench/digest';
import { threadCpu } from '../bench/proc';
import {
  README_END,
  README_START,
  benchResultSchema,
  faultsLine,
  renderMarkdown,
  withReadmeTable,
  type PhaseFigures,
} from '../bench/report';

const { EventType } = temporal.api.enums.v1;
/** Built the way the client decodes a fetched history (event ids are 64-bit). */
const history = (events: object[]) => temporal.api.history.v1.History.fromObject({ events });
const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

describe('remoteCallFloorMs', () => {
  const shape = {
    servers: 1000,
    maxParallel: 100,
    adBudget: 8,
    callsPerServer: 25,
    adCallsPerServer: 3,
    latencyMs: 250,
  };

  it('is set by the AD budget when AD waves take longer (issue 14: 1,000 / 8 × 3 × 250 ms)', () => {
    // Servers: ceil(1000/100) × 25 × 250 = 62.5 s; AD: ceil(1000/8) = 125 waves × 3 × 250 = 93.75 s.
    assert.equal(remoteCallFloorMs(shape), 93_750);
  });

  it('is set by maxParallel when the servers are the tighter limit, rounding waves up', () => {
    // ceil(1001/100) = 11 waves × 25 × 250 = 68.75 s; AD: ceil(1001/100) = 11 × 3 × 250 = 8.25 s.
    assert.equal(remoteCallFloorMs({ ...shape, servers: 1001, adBudget: 100 }), 68_750);
  });

  it('ignores the AD budget when no call goes to AD', () => {
    assert.equal(remoteCallFloorMs({ ...shape, adCallsPerServer: 0, adBudget: 1 }), 62_500);
  });
});

describe('ratio', () => {
  it('divides, and has no value against a zero floor', () => {
    assert.equal(ratio(150, 100), 1.5);
    assert.equal(ratio(5, 0), null);
  });
});

describe('inFlightStats', () => {
  it('weighs each sample by how long it held, and gives the mean per slice of the run', () => {
    // 0 for the first second, 10 for the next three: mean 7.5; halves: 5 then 10.
    const s = inFlightStats(
      [
        { atMs: 1000, count: 10 },
        { atMs: 0, count: 0 },
      ],
      4000,
      2
    );
    assert.equal(s.mean, 7.5);
    assert.equal(s.max, 10);
    assert.deepEqual(s.series, [5, 10]);
  });

  it('is all zero without samples', () => {
    assert.deepEqual(inFlightStats([], 1000, 3), { mean: 0, max: 0, series: [0, 0, 0] });
  });
});

describe('workflowTaskTimes and eventTypeCounts', () => {
  const h = history([
    { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, eventTime: at(0) },
    { eventId: 2, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, eventTime: at(10) },
    {
      eventId: 3,
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      eventTime: at(40),
      workflowTaskStartedEventAttributes: { scheduledEventId: 2 },
    },
    {
      eventId: 4,
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
      eventTime: at(1540),
      workflowTaskCompletedEventAttributes: { scheduledEventId: 2, startedEventId: 3 },
    },
    { eventId: 5, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, eventTime: at(2000) },
    {
      eventId: 6,
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      eventTime: at(2005),
      workflowTaskStartedEventAttributes: { scheduledEventId: 5 },
    },
    // A task that timed out is no completed task: it has a wait but no run time.
    { eventId: 7, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, eventTime: at(12005) },
  ]);

  it('measures Started -> Completed per completed task and Scheduled -> Started per task', () => {
    assert.deepEqual(workflowTaskTimes(h), { runMs: [1500], waitMs: [30, 5] });
  });

  it('counts events by their type short name', () => {
    assert.deepEqual(eventTypeCounts(h), {
      WorkflowExecutionStarted: 1,
      WorkflowTaskScheduled: 2,
      WorkflowTaskStarted: 2,
      WorkflowTaskCompleted: 1,
      WorkflowTaskTimedOut: 1,
    });
  });
});

describe('endRetries', () => {
  const UNHANDLED = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
  const task = (id: number, ms: number) => ({
    eventId: id,
    eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    eventTime: at(ms),
    workflowTaskStartedEventAttributes: { scheduledEventId: id - 1 },
  });
  const failed = (id: number, ms: number, cause: number) => ({
    eventId: id,
    eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    eventTime: at(ms),
    workflowTaskFailedEventAttributes: { startedEventId: id - 1, cause },
  });
  const continued = (id: number, ms: number) => ({
    eventId: id,
    eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    eventTime: at(ms),
    workflowExecutionContinuedAsNewEventAttributes: {},
  });

  it('counts the ends retried for new events and the time from the first try to the end', () => {
    const h = history([
      task(3, 1_000),
      failed(4, 1_080, UNHANDLED),
      task(6, 1_100),
      failed(7, 3_200, UNHANDLED),
      task(9, 3_300),
      continued(11, 5_000),
    ]);
    assert.deepEqual(endRetries(h), { failedTasks: 2, lostMs: 4_000 });
  });

  it('leaves out other failures, and a run that ended at its first try', () => {
    const other =
      temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
    assert.deepEqual(endRetries(history([task(3, 0), failed(4, 10, other), task(6, 20), continued(8, 30)])), {
      failedTasks: 0,
      lostMs: 0,
    });
  });
});

describe('HistoryDigest', () => {
  const server = (attempts: number[], timedOut = false) =>
    history([
      { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, eventTime: at(0) },
      ...attempts.map((attempt, i) => ({
        eventId: 2 + i,
        eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        eventTime: at(10),
        activityTaskStartedEventAttributes: { scheduledEventId: 1, attempt },
      })),
      ...(timedOut
        ? [
            {
              eventId: 9,
              eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
              eventTime: at(20),
              workflowTaskTimedOutEventAttributes: {
                scheduledEventId: 1,
                startedEventId: 1,
                timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
              },
            },
          ]
        : []),
    ]);

  it('sums events per history, counts retried activities from their last attempt, and names problems', () => {
    const digest = new HistoryDigest();
    digest.add('onboard/a', server([1, 3, 1]));
    digest.add('onboard/b', server([2], true));
    const f = digest.figures();
    assert.equal(f.runs, 2);
    assert.deepEqual(f.events, [4, 3]);
    assert.equal(f.eventsByType.ActivityTaskStarted, 4);
    assert.equal(f.retriedActivities, 2, 'the activities whose last attempt was the third and the second');
    assert.equal(f.extraAttempts, 3);
    assert.equal(f.problems.length, 1);
    assert.match(f.problems[0], /^onboard\/b: event 9: workflow task ran past its timeout/);
  });
});

describe('threadCpu', () => {
  it('splits CPU into the main thread, the SDK core and the rest, counting threads born in between', () => {
    const before = new Map([
      [10, { name: 'node', cpuSeconds: 5 }],
      [11, { name: 'tokio-runtime-w', cpuSeconds: 1 }],
    ]);
    const after = new Map([
      [10, { name: 'node', cpuSeconds: 7 }],
      [11, { name: 'tokio-runtime-w', cpuSeconds: 4 }],
      [12, { name: 'node', cpuSeconds: 6 }],
    ]);
    assert.deepEqual(threadCpu(10, before, after), { main: 2, sdkCore: 3, other: 6 });
  });
});

describe('spread', () => {
  it('gives count, mean, p95 and max', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(spread(values), { count: 100, mean: 50.5, p95: 95, max: 100 });
    assert.deepEqual(spread([]), { count: 0, mean: 0, p95: 0, max: 0 });
  });
});

describe('/proc readings', () => {
  it('adds utime and stime, counting fields after a command name that holds spaces and parentheses', () => {
    const stat = '4242 (temporal (dev) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 566 0 0 20 0 12 0 100 0';
    assert.equal(cpuSecondsFromProcStat(stat, 100), 18);
  });

  it('reads VmRSS and VmHWM in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    assert.equal(memoryFromProcStatus(status, 'VmRSS'), 100 * 1024 * 1024);
    assert.equal(memoryFromProcStatus(status, 'VmHWM'), 200 * 1024 * 1024);
  });
});

describe('withReadmeTable', () => {
  const spreadOf = (max: number) => ({ count: 1, mean: max, p95: max, max });
  const phase = (wallSeconds: number): PhaseFigures => ({
    wallSeconds,
    serversPerSecond: 1000 / wallSeconds,
    inFlight: { mean: 60, max: 100, series: [60] },
    historyEventsPerServer: spreadOf(80),
    historyEventsPerFleetRun: [1900, 700],
    eventsPerServerByType: {},
    eventsPerFleetByType: {},
    workflowTaskRunMs: { fleet: spreadOf(5200), server: spreadOf(40) },
    workflowTaskWaitMs: { fleet: spreadOf(10), server: spreadOf(10) },
    worker: { cpuSeconds: 300, peakRssMB: 900 },
    devServer: null,
  });
  const result = benchResultSchema.parse({
    date: '2026-12-02T06:00:00.000Z',
    commit: 'abcdef0123456789',
    machine: { cpus: 2, loadAverageAtStart: [1, 1, 1] },
    shape: { servers: 1000, maxParallel: 100, adBudget: 8, latencyMs: 250, callsPerServer: 25, adCallsPerServer: 3 },
    baselineSteps: [],
    tuning: {},
    floorSeconds: 93.75,
    product: phase(209),
    baseline: phase(163),
    ratios: { productToBaseline: 209 / 163, productToFloor: 209 / 93.75, baselineToFloor: 163 / 93.75 },
    failures: [],
  });

  it('replaces what is between the markers and keeps the rest of the README', () => {
    const readme = `# x\n\nbefore\n${README_START}\nold table\n${README_END}\nafter\n`;
    const updated = withReadmeTable(readme, result);
    assert.ok(updated.startsWith('# x\n\nbefore\n'));
    assert.ok(updated.endsWith(`${README_END}\nafter\n`));
    assert.doesNotMatch(updated, /old table/);
    assert.match(updated, /\| wall time \| 209\.0 s \| 163\.0 s \|/);
    assert.match(updated, /\| product \/ baseline \| 1\.28 × \| \|/);
    assert.match(updated, /ratio to the remote-call floor \(93\.8 s\) \| 2\.23 × \| 1\.74 × \|/);
    assert.equal(withReadmeTable(updated, result), updated, 'a second refresh changes nothing');
  });

  it("names the dev server's settings in the Markdown and the README table when the run recorded them", () => {
    assert.doesNotMatch(renderMarkdown(result), /Dev server settings/);
    const withConfig = benchResultSchema.parse({ ...result, serverConfig: { 'history.shardIOConcurrency': 4 } });
    const line = 'Dev server settings (both runs): {"history.shardIOConcurrency":4}.';
    assert.ok(renderMarkdown(withConfig).includes(line));
    assert.ok(withReadmeTable(`${README_START}\n${README_END}\n`, withConfig).includes(line));
    assert.ok(!withReadmeTable(`${README_START}\n${README_END}\n`, result).includes('Dev server settings'));
  });

  it('refuses a README without the markers', () => {
    assert.throws(() => withReadmeTable('# x\n', result), /has no/);
  });

  it('adds the run with faults, compared with the fault-free one, when there was one', () => {
    assert.equal(faultsLine(result), '');
    const faulty = { ...phase(250.8), retries: { activities: 1234, extraAttempts: 1500 } };
    const withFaults = benchResultSchema.parse({
      ...result,
      faults: { rate: 0.1, product: faulty, ratioToFaultFree: 250.8 / 209 },
    });
    const line = faultsLine(withFaults);
    assert.match(line, /^With 10 % of the lab's calls failing transiently/);
    assert.match(
      line,
      /250\.8 s, 1\.20 × the fault-free run; 1,234 activities retried \(1,500 attempts beyond the first\)/
    );
    assert.ok(withReadmeTable(`${README_START}\n${README_END}\n`, withFaults).includes(line));
  });
});
