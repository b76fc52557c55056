import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a callback to a source system. */
export const CALLBACK_ID_HEADER = 'matterflow-callback-id';
export const CALLBACK_TIMESTAMP_HEADER = 'matterflow-timestamp';
export const CALLBACK_SIGNATURE_HEADER = 'matterflow-signature';

/** A receiver refuses a callback whose timestamp is further than this from its own clock. */
export const CALLBACK_REPLAY_WINDOW_SECONDS = 300;

/**
 * `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the timestamp is signed with the body, so a
 * captured callback cannot be replayed outside the window with a fresh timestamp.
 */
export function signCallback(secret: string, timestampSeconds: number, rawBody: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex');
  return `v1=${mac}`;
}

export type CallbackCheck = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/** What a receiver does: the timestamp within the window, then the signature in constant time. */
export function verifyCallback(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  nowSeconds: number,
  windowSeconds = CALLBACK_REPLAY_WINDOW_SECONDS,
): CallbackCheck {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing' };
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > windowSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signCallback(secret, ts, rawBody));
  // Several signatures may be sent while a secret is rotated; any one that matches will do.
  const matches = signature
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
  return matches ? { ok: true } : { ok: false, reason: 'mismatch' };
}
