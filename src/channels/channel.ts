import type { MatterEventType } from '../domain/matter.js';

/** The matter itself travels with every notice, not just a reminder of it. */
export interface MatterView {
  id: string;
  source: string;
  externalId: string;
  title: string;
  details: string | null;
  link: string | null;
  dueAt: string | null;
  priority: string;
  status: string;
  /** Null while the matter waits for a group member to claim it. */
  handlerId: string | null;
  groupId?: string | null;
  createdAt: string;
}

/** A change request's decision, told to its maker and reviewer. */
export type ChangeOutcomeType = 'change.approved' | 'change.rejected' | 'change.failed';

/** Reminders held back by the recipient's cap, summed up in one message. */
export type DigestType = 'reminder.digest';

export interface OutboundMessage {
  type: MatterEventType | ChangeOutcomeType | DigestType;
  matter: MatterView;
  handler: { id: string; name: string };
  actions: { action: string; url: string }[];
  idempotencyKey: string;
  data: Record<string, unknown>;
}

export interface ChannelTarget {
  type: string;
  address: string;
  settings: Record<string, unknown>;
}

export interface DeliveryResult {
  ok: boolean;
  httpStatus?: number;
  error?: string;
  /** False when trying again cannot help (the receiver refused the message itself). */
  retryable: boolean;
  /** What the vendor answered that a later update of the same message needs (message id, card code). */
  ref?: Record<string, string>;
}

/** At most `max` sends to one target within any `perMs` window, as the vendor documents. */
export interface SendLimit {
  max: number;
  perMs: number;
}

export interface Channel {
  readonly type: string;
  /** Honoured per target address across all workers. */
  readonly sendLimits?: readonly SendLimit[];
  send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult>;
  /**
   * Replaces a message already sent (its `ref` from `send`) so that it shows the matter's outcome and
   * offers no more actions. Channels that cannot edit what they sent leave this out.
   */
  update?(
    target: ChannelTarget,
    ref: Record<string, string>,
    message: OutboundMessage,
  ): Promise<DeliveryResult>;
}

export type ChannelRegistry = ReadonlyMap<string, Channel>;

export function channelRegistry(channels: Channel[]): ChannelRegistry {
  return new Map(channels.map((c) => [c.type, c]));
}
