import { createHmac, timingSafeEqual } from 'node:crypto';
import { isNonEmptyString, isRecord, refuse, stringOrNull } from './input.js';
import { checkFresh, replayExpiry } from './replay.js';

export type SlackRefusal = 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED';

export type SlackVerification =
  | { ok: true; timestamp: number; replayKey: string; replayExpiresAt: Date }
  | { ok: false; reason: SlackRefusal };

export interface SlackRequest {
  signingSecret: string;
  /** Raw `X-Slack-Request-Timestamp` header (seconds). */
  timestampHeader: string | string[] | undefined;
  /** Raw `X-Slack-Signature` header (`v0=<hex>`). */
  signatureHeader: string | string[] | undefined;
  /** The body exactly as received; pass the Buffer when you have it, the HMAC covers bytes. */
  rawBody: string | Buffer;
  nowSeconds: number;
  toleranceSeconds?: number;
}

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^v0=([0-9a-fA-F]{64})$/;

// https://api.slack.com/authentication/verifying-requests-from-slack
export function verifySlackRequest(request: SlackRequest): SlackVerification {
  const { signingSecret, timestampHeader, signatureHeader, rawBody, nowSeconds } = request;
  const toleranceSeconds = request.toleranceSeconds ?? 300;
  if (typeof timestampHeader !== 'string' || !TIMESTAMP.test(timestampHeader)) return refuse('MALFORMED');
  const signature = typeof signatureHeader === 'string' ? SIGNATURE.exec(signatureHeader) : null;
  if (!signature?.[1]) return refuse('MALFORMED');
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) return refuse('MALFORMED');
  const timestamp = Number(timestampHeader);
  if (!checkFresh(timestamp, nowSeconds, toleranceSeconds)) return refuse('STALE');
  // An empty secret would make the HMAC forgeable by anyone.
  if (typeof signingSecret !== 'string' || signingSecret.length === 0) return refuse('BAD_SIGNATURE');
  const expected = createHmac('sha256', signingSecret)
    .update(`v0:${timestampHeader}:`)
    .update(rawBody)
    .digest();
  if (!timingSafeEqual(expected, Buffer.from(signature[1], 'hex'))) return refuse('BAD_SIGNATURE');
  return {
    ok: true,
    timestamp,
    replayKey: `slack:${signature[1].toLowerCase()}`,
    replayExpiresAt: replayExpiry(timestamp, toleranceSeconds),
  };
}

export interface SlackInteraction {
  userId: string;
  actionId: string;
  /** A button's `value`, or the chosen option's value for a select menu; null when the element carries none. */
  value: string | null;
  responseUrl: string | null;
  messageTs: string | null;
  channelId: string | null;
}

export type SlackInteractionParse =
  | { ok: true; interaction: SlackInteraction }
  | { ok: false; reason: 'MALFORMED' };

// https://api.slack.com/reference/interaction-payloads/block-actions
// Interactivity requests are form-encoded with the JSON in a single `payload` field.
export function parseSlackInteraction(rawBody: string | Buffer): SlackInteractionParse {
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) return refuse('MALFORMED');
  const payloadText = new URLSearchParams(rawBody.toString()).get('payload');
  if (payloadText === null) return refuse('MALFORMED');
  let payload: unknown;
  try {
    payload = JSON.parse(payloadText);
  } catch {
    return refuse('MALFORMED');
  }
  if (!isRecord(payload) || payload.type !== 'block_actions') return refuse('MALFORMED');
  const userId = isRecord(payload.user) ? payload.user.id : undefined;
  const action = Array.isArray(payload.actions) ? payload.actions[0] : undefined;
  if (!isNonEmptyString(userId) || !isRecord(action) || !isNonEmptyString(action.action_id)) {
    return refuse('MALFORMED');
  }
  const responseUrl = payload.response_url;
  if (responseUrl !== undefined && !isHttpsUrl(responseUrl)) return refuse('MALFORMED');
  const container = isRecord(payload.container) ? payload.container : {};
  const message = isRecord(payload.message) ? payload.message : {};
  const channel = isRecord(payload.channel) ? payload.channel : {};
  return {
    ok: true,
    interaction: {
      userId,
      actionId: action.action_id,
      value: actionValue(action),
      responseUrl: typeof responseUrl === 'string' ? responseUrl : null,
      messageTs: stringOrNull(container.message_ts) ?? stringOrNull(message.ts),
      channelId: stringOrNull(container.channel_id) ?? stringOrNull(channel.id),
    },
  };
}

function actionValue(action: Record<string, unknown>): string | null {
  if (typeof action.value === 'string') return action.value;
  const selected = action.selected_option;
  return isRecord(selected) && typeof selected.value === 'string' ? selected.value : null;
}

function isHttpsUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
