/**
 * How test/histories/ stores a workflow history: the protobuf object form of @temporalio/proto's
 * History (64-bit numbers and bytes as strings, enums by name), which converts back losslessly.
 * Not the CLI's `temporal workflow show --output json` form: the SDK's historyFromJSON/historyToJSON
 * fail in this install ("type must be a Type"), because @temporalio/common and @temporalio/proto
 * each carry their own copy of protobufjs 8.
 */
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.History;
const { History } = temporal.api.history.v1;

const OBJECT_OPTIONS = { longs: String, enums: String, bytes: String } as const;

export function historyToStoredJson(history: temporal.api.history.v1.IHistory): Record<string, unknown> {
  return History.toObject(History.fromObject(history), OBJECT_OPTIONS);
}

export function historyFromStoredJson(stored: unknown): History {
  if (typeof stored !== 'object' || stored === null || !Array.isArray((stored as { events?: unknown }).events)) {
    throw new TypeError('not a stored history: expected an object with an array of events');
  }
  return History.fromObject(stored as Record<string, unknown>);
}
