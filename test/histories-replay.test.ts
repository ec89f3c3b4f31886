/**
 * Determinism across releases: the histories a release recorded (test/histories/, written by
 * `npm run record-histories`) replay against the current workflow code, so a deploy can pick up the
 * fleets, servers and rotations in flight. A deliberately non-deterministic copy of the workflows is
 * shown to fail the same replay, so a breaking change would fail this test.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { RotationReport } from '../domain/rotation';
import { historyFromStoredJson } from './support/stored-history';
import { workflowSource } from './support/temporal';

const HISTORIES_DIR = path.join(__dirname, 'histories');

type History = ReturnType<typeof historyFromStoredJson>;

interface RecordedHistory {
  file: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

function recordedHistories(): RecordedHistory[] {
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const doc = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as {
        workflowId: string;
        workflowType: string;
        history: unknown;
      };
      return {
        file,
        workflowId: doc.workflowId,
        workflowType: doc.workflowType,
        history: historyFromStoredJson(doc.history),
      };
    });
}

function byFile(name: string): RecordedHistory {
  const found = recordedHistories().find((h) => h.file === `${name}.json`);
  assert.ok(found, `test/histories/${name}.json is missing: run npm run record-histories`);
  return found;
}

/** The names of the updates a history accepted, in order. */
function acceptedUpdates(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const name = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
    return name ? [name] : [];
  });
}

/** What the workflow returned, from the history's completion event. */
function completedResult<T>(history: History): T {
  const completed = (history.events ?? []).at(-1)?.workflowExecutionCompletedEventAttributes;
  const payload = completed?.result?.payloads?.[0];
  assert.ok(payload, 'the history ends with the workflow completing with a result');
  return defaultPayloadConverter.fromPayload<T>(payload);
}

describe('recorded histories', () => {
  it('cover onboarding with approvals and an operator retry, a rotation with rollback, and a fleet that continued as new', () => {
    assert.equal(byFile('onboarding-fleet').workflowType, 'onboardFleet');
    const retried = byFile('onboarding-server-approved-and-retried');
    assert.equal(retried.workflowType, 'onboardServer');
    assert.deepEqual(new Set(acceptedUpdates(retried.history)), new Set(['decideChange', 'resolveStep']));
    assert.deepEqual(acceptedUpdates(byFile('onboarding-server-approved').history), ['decideChange']);
    const rotation = byFile('rotation-with-rollback');
    assert.equal(rotation.workflowType, 'rotateCertificates');
    const report = completedResult<RotationReport>(rotation.history);
    assert.equal(report.counts['failed-rolled-back'], 1, 'the recorded rotation rolled one server back');
    assert.equal(report.counts.rotated, 1);
    const first = byFile('continued-fleet-run-1').history.events ?? [];
    assert.ok(
      first.some((e) => e.workflowExecutionContinuedAsNewEventAttributes),
      'the first run of the continued fleet ends by continuing as new'
    );
    const second = byFile('continued-fleet-run-2');
    assert.equal(second.workflowId, byFile('continued-fleet-run-1').workflowId);
    assert.ok(second.history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId);
  });

  it('every one replays against the current workflow code', async () => {
    const histories = recordedHistories();
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      workflowSource(),
      histories.map(({ workflowId, history }) => ({ workflowId, history }))
    )) {
      assert.equal(result.error, undefined, `${result.workflowId} does not replay: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, histories.length);
  });

  it('a workflow change that would break the recorded rotation is caught as a non-determinism error', async () => {
    const { workflowId, history } = byFile('rotation-with-rollback');
    await assert.rejects(
      Worker.runReplayHistory(
        { workflowsPath: require.resolve('./support/nondeterministic-workflows') },
        history,
        workflowId
      ),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `not a non-determinism error: ${String(err)}`);
        return true;
      }
    );
  });
});
