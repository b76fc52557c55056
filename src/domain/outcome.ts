/** The events after which a matter's earlier messages and links no longer offer anything to do. */
export const SETTLING_EVENTS = [
  'matter.completed',
  'matter.transferred',
  'transfer.rejected',
  'matter.cancelled',
  'matter.claimed',
  'matter.released',
] as const;

const VERBS: Record<string, string> = {
  'matter.completed': 'Completed',
  'matter.transferred': 'Transferred',
  'transfer.rejected': 'Handed back',
  'matter.cancelled': 'Cancelled',
  'matter.claimed': 'Claimed',
  'matter.released': 'Released to the group',
  'matter.returned': 'Returned to its source',
};

export interface Outcome {
  type: string;
  /** The person who acted, by name where known. */
  by: string | null;
  /** For a transfer or a hand-back, whom the matter went to, by name where known. */
  to?: string | null;
  at: Date | string;
}

/** One line saying who did what and when, for a stale card or a link that no longer works. */
export function describeOutcome(o: Outcome): string {
  const verb = VERBS[o.type] ?? o.type;
  const at = (typeof o.at === 'string' ? o.at : o.at.toISOString()).slice(0, 16).replace('T', ' ');
  return `${verb}${o.to ? ` to ${o.to}` : ''}${o.by ? ` by ${o.by}` : ''} at ${at} UTC`;
}
