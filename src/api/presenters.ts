import type { ChangeRequestRow } from '../db/change-requests.js';

/** Times leave the API as RFC 3339 text. */
export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function presentChangeRequest(cr: ChangeRequestRow) {
  return {
    ...cr,
    effectiveAt: iso(cr.effectiveAt),
    createdAt: cr.createdAt.toISOString(),
    decidedAt: iso(cr.decidedAt),
  };
}
