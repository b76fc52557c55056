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

export interface OutboundMessage {
  type: MatterEventType | ChangeOutcomeType;
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
}

export interface Channel {
  readonly type: string;
  send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult>;
}

export type ChannelRegistry = ReadonlyMap<string, Channel>;

export function channelRegistry(channels: Channel[]): ChannelRegistry {
  return new Map(channels.map((c) => [c.type, c]));
}
