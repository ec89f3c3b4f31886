import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { workflowTaskProblems } from '../lib/workflow-task-problems';

const { WorkflowTaskFailedCause: Cause, TimeoutType } = temporal.api.enums.v1;
/** Built the way the client decodes a fetched history (event ids are 64-bit). */
const history = (events: object[]) => temporal.api.history.v1.History.fromObject({ events });

describe('workflowTaskProblems', () => {
  it('reports tasks the workflow code failed and tasks that ran past their timeout', () => {
    const problems = workflowTaskProblems(
      history([
        {
          eventId: 7,
          workflowTaskFailedEventAttributes: {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
            failure: { message: "Cannot access 'status' before initialization" },
          },
        },
        {
          eventId: 9,
          workflowTaskFailedEventAttributes: { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR },
        },
        { eventId: 12, workflowTaskTimedOutEventAttributes: { timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE } },
      ])
    );
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /event 7: .*WORKFLOW_WORKER_UNHANDLED_FAILURE.*before initialization/);
    assert.match(problems[1], /event 9: .*NON_DETERMINISTIC_ERROR/);
    assert.match(problems[2], /event 12: workflow task ran past its timeout/);
  });

  it('leaves out what Temporal redoes by design: new signals during completion, a busy sticky queue', () => {
    const problems = workflowTaskProblems(
      history([
        {
          eventId: 4104,
          workflowTaskFailedEventAttributes: { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND },
        },
        {
          eventId: 4109,
          workflowTaskTimedOutEventAttributes: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START },
        },
        { eventId: 4110, workflowTaskCompletedEventAttributes: {} },
      ])
    );
    assert.deepEqual(problems, []);
  });
});
