/**
 * Custom search attributes that make fleets findable in the Temporal Web UI
 * (e.g. `MonosyncFleet = "contoso" AND MonosyncPhase = "awaiting-approval"`).
 * Search attributes are stored in plain text: never put secrets or personal data in them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FleetKey = defineSearchAttributeKey('MonosyncFleet', SearchAttributeType.KEYWORD);
export const ServerKey = defineSearchAttributeKey('MonosyncServer', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('MonosyncPhase', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [FleetKey, ServerKey, PhaseKey] as const;
