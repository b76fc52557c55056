import type { MatterEventType, MatterState } from '../domain/matter.js';

/**
 * How long Temporal waits for an activity's beat before it retries it elsewhere: a worker that died (a
 * SIGKILL, a lost node) is noticed this soon instead of at the 30 s start-to-close timeout.
 */
export const ACTIVITY_HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * How long Temporal waits for a worker to finish one of a matter's workflow tasks before it gives the task
 * to another: a worker killed mid-task holds its matters this long. Tasks take well under a second (0.1–0.4 s
 * on a busy two-core machine); Temporal's default of 10 s would hold a crashed worker's matters past 15 s.
 */
export const WORKFLOW_TASK_TIMEOUT_MS = 5_000;

export type LinkAction = 'complete' | 'transfer' | 'exception';
/** Shared by the workflow's retry policy and the activity that marks the last attempt failed. */
export const DELIVERY_MAX_ATTEMPTS = 8;

export const HANDLER_ACTIONS: LinkAction[] = ['complete', 'transfer', 'exception'];

export interface RecordEventInput {
  workflowId: string;
  seq: number;
  type: MatterEventType;
  actorId: string | null;
  occurredAt: string;
  data: Record<string, unknown>;
  /** The matter after the event; the `matters` projection is set from it. */
  state: MatterState;
}

/** Whom a notice is for; the activity resolves stand-ins for absent people at the notice's time. */
export type NoticeRecipient =
  | { kind: 'handler'; handlerId: string }
  | { kind: 'supervisorOf'; handlerId: string }
  | { kind: 'group'; groupId: string }
  | { kind: 'supervisorOfGroup'; groupId: string }
  /** An exception type's subscribers; `webhooks` are external systems, sent a signed POST each. */
  | { kind: 'subscribers'; handlerIds: string[]; groupIds: string[]; webhooks?: string[] };

export interface DeliverNoticeInput {
  workflowId: string;
  seq: number;
  type: MatterEventType;
  recipient: NoticeRecipient;
  /** Action links are minted only for the matter's own handler (or whoever stands in for them). */
  actions: LinkAction[];
  issuedAt: string;
  state: MatterState;
  data: Record<string, unknown>;
  /** Channel types allowed for this notice, in order of preference (a ladder level's); any when absent. */
  channels?: string[] | null;
}

export interface PlanningQuery {
  handlerId: string | null;
  calendar: string | null;
}

export type DeliveryOutcome =
  | 'delivered'
  | 'already-delivered'
  | 'no-recipient'
  | 'no-channel'
  /** Over the recipient's reminder cap: it goes out in their next digest instead. */
  | 'digested';

/** A channel's send limit holds the notice back; the workflow sleeps, durably, and asks again. */
export interface Throttled {
  throttledForMs: number;
}

export type DeliveryReport = DeliveryOutcome | Throttled;

export const isThrottled = (r: unknown): r is Throttled =>
  typeof r === 'object' && r !== null && 'throttledForMs' in r;

export interface HandlerRef {
  id: string;
  name: string;
  active: boolean;
  supervisorId: string | null;
}
