/**
 * String codes that cross process boundaries: workflows raise them as ApplicationFailure types,
 * the API maps them to HTTP statuses.
 */
export const ActionRefusal = {
  NOT_OPEN: 'MATTER_NOT_OPEN',
  NOT_HANDLER: 'NOT_YOUR_MATTER',
  TRANSFER_TO_SELF: 'TRANSFER_TO_SELF',
  UNKNOWN_HANDLER: 'UNKNOWN_HANDLER',
  INVALID_ACTION: 'INVALID_ACTION',
  CONFLICT: 'CONCURRENT_CHANGE',
  NOT_CLAIMED: 'NOT_CLAIMED',
  ALREADY_CLAIMED: 'ALREADY_CLAIMED',
  NOT_GROUP_MATTER: 'NOT_GROUP_MATTER',
  ALREADY_ACKNOWLEDGED: 'ALREADY_ACKNOWLEDGED',
  FILING_CLOSED: 'FILING_ALREADY_CLOSED',
  FILING_ACKNOWLEDGED: 'FILING_ALREADY_ACKNOWLEDGED',
  NO_TRANSFER_TO_REJECT: 'NO_TRANSFER_TO_REJECT',
} as const;
export type ActionRefusalCode = (typeof ActionRefusal)[keyof typeof ActionRefusal];

export class Refusal extends Error {
  constructor(
    readonly code: ActionRefusalCode,
    message: string,
  ) {
    super(message);
  }
}
