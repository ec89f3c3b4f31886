/**
 * Custom search attributes that make fleets findable in the Temporal Web UI
 * (e.g. `MonosyncFleet = "contoso" AND MonosyncPhase = "awaiting-approval"`, or
 * `MonosyncRefusedDecisions > 0` for every run that refused a decision sent to it).
 * Search attributes are stored in plain text: never put secrets or personal data in them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FleetKey = defineSearchAttributeKey('MonosyncFleet', SearchAttributeType.KEYWORD);
export const ServerKey = defineSearchAttributeKey('MonosyncServer', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('MonosyncPhase', SearchAttributeType.KEYWORD);
/** How many decisions (signals) a run refused: who, what and why are in its Current Details and `fleet report`. */
export const RefusedKey = defineSearchAttributeKey('MonosyncRefusedDecisions', SearchAttributeType.INT);

export const SEARCH_ATTRIBUTES = [FleetKey, ServerKey, PhaseKey, RefusedKey] as const;

/** The name `temporal operator search-attribute create --type` and `start-dev --search-attribute` take. */
export function searchAttributeTypeName(key: (typeof SEARCH_ATTRIBUTES)[number]): 'Keyword' | 'Int' {
  return key.type === SearchAttributeType.INT ? 'Int' : 'Keyword';
}
