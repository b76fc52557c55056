import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const MatterHandler = defineSearchAttributeKey('MatterHandler', SearchAttributeType.KEYWORD);
export const MatterStatus = defineSearchAttributeKey('MatterStatus', SearchAttributeType.KEYWORD);
export const MatterSource = defineSearchAttributeKey('MatterSource', SearchAttributeType.KEYWORD);
export const MatterDueAt = defineSearchAttributeKey('MatterDueAt', SearchAttributeType.DATETIME);
export const MatterPriority = defineSearchAttributeKey('MatterPriority', SearchAttributeType.KEYWORD);
export const MatterGroup = defineSearchAttributeKey('MatterGroup', SearchAttributeType.KEYWORD);
/** How many rungs of the escalation ladder this assignment has reached; 0 before the first. */
export const MatterEscalationLevel = defineSearchAttributeKey(
  'MatterEscalationLevel',
  SearchAttributeType.INT,
);

/** Registered on the dev server at start (`--search-attribute NAME=TYPE`). */
export const SEARCH_ATTRIBUTES = [
  MatterHandler,
  MatterStatus,
  MatterSource,
  MatterDueAt,
  MatterPriority,
  MatterGroup,
  MatterEscalationLevel,
];
