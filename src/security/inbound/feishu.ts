import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isBase64, isRecord, refuse, stringOrNull, utf8 } from './input.js';
import { checkFresh, replayExpiry } from './replay.js';

export type FeishuRefusal = 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED' | 'BAD_CIPHERTEXT' | 'BAD_TOKEN';

export type FeishuVerification =
  | { ok: true; replayKey: string; replayExpiresAt: Date }
  | { ok: false; reason: 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED' };

export interface FeishuSignedRequest {
  /** `X-Lark-Request-Timestamp` header (seconds). */
  timestamp: string | string[] | undefined;
  /** `X-Lark-Request-Nonce` header. */
  nonce: string | string[] | undefined;
  encryptKey: string;
  /** The body exactly as received; the hash covers its bytes. */
  rawBody: string | Buffer;
  /** `X-Lark-Signature` header. */
  signature: string | string[] | undefined;
  nowSeconds: number;
  /** Feishu documents no window; 300 s is ours. */
  toleranceSeconds?: number;
}

const SECONDS = /^\d{1,15}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const SHA1_HEX = /^[0-9a-fA-F]{40}$/;
const MAX_NONCE_LENGTH = 256;

export function feishuSignature(
  timestamp: string,
  nonce: string,
  encryptKey: string,
  rawBody: string | Buffer,
): string {
  return createHash('sha256').update(`${timestamp}${nonce}${encryptKey}`).update(rawBody).digest('hex');
}

/**
 * sha256 hex of timestamp ‖ nonce ‖ encrypt_key ‖ raw body. A bare hash, not an HMAC: bytes appended
 * after SHA-256 padding would verify too, which a strict JSON parse of the whole body then rejects.
 */
// https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/event-subscription-guide/callback-subscription/receive-and-handle-callbacks
export function verifyFeishuSignature(request: FeishuSignedRequest): FeishuVerification {
  return verifyHashed(
    request.signature,
    SHA256_HEX,
    request,
    request.encryptKey,
    'feishu',
    (timestamp, nonce) => feishuSignature(timestamp, nonce, request.encryptKey, request.rawBody),
  );
}

export interface FeishuLegacyCardRequest extends Omit<FeishuSignedRequest, 'encryptKey'> {
  verificationToken: string;
}

/**
 * The old message-card request URL (card.action.trigger_v1) signs with sha1 hex of
 * timestamp ‖ nonce ‖ verification_token ‖ raw body instead.
 */
// https://open.larksuite.com/document/ukTMukTMukTM/uYzM3QjL2MzN04iNzcDN/configuring-card-callbacks/card-callback-structure
// (algorithm as implemented by larksuite/oapi-sdk-nodejs packages/card/src/handlers/handlers.ts)
export function verifyFeishuLegacyCardSignature(request: FeishuLegacyCardRequest): FeishuVerification {
  return verifyHashed(
    request.signature,
    SHA1_HEX,
    request,
    request.verificationToken,
    'feishu-card',
    (timestamp, nonce) =>
      createHash('sha1')
        .update(`${timestamp}${nonce}${request.verificationToken}`)
        .update(request.rawBody)
        .digest('hex'),
  );
}

function verifyHashed(
  signature: unknown,
  format: RegExp,
  request: Omit<FeishuSignedRequest, 'encryptKey' | 'signature'>,
  secret: unknown,
  namespace: string,
  compute: (timestamp: string, nonce: string) => string,
): FeishuVerification {
  const { timestamp, nonce, rawBody, nowSeconds } = request;
  const toleranceSeconds = request.toleranceSeconds ?? 300;
  if (
    typeof timestamp !== 'string' ||
    !SECONDS.test(timestamp) ||
    typeof nonce !== 'string' ||
    nonce.length === 0 ||
    nonce.length > MAX_NONCE_LENGTH ||
    typeof signature !== 'string' ||
    !format.test(signature) ||
    (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody))
  ) {
    return refuse('MALFORMED');
  }
  const timestampSeconds = Number(timestamp);
  if (!checkFresh(timestampSeconds, nowSeconds, toleranceSeconds)) return refuse('STALE');
  // With an empty secret the hash covers only public data.
  if (typeof secret !== 'string' || secret.length === 0) return refuse('BAD_SIGNATURE');
  const expected = Buffer.from(compute(timestamp, nonce), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return refuse('BAD_SIGNATURE');
  return {
    ok: true,
    replayKey: `${namespace}:${signature.toLowerCase()}`,
    replayExpiresAt: replayExpiry(timestampSeconds, toleranceSeconds),
  };
}

export type FeishuDecryption =
  | { ok: true; plaintext: string }
  | { ok: false; reason: 'MALFORMED' | 'BAD_CIPHERTEXT' };

/** AES-256-CBC with key = sha256(encrypt_key); the base64 of `encrypt` is IV(16) ‖ ciphertext, PKCS#7-padded. */
// https://open.feishu.cn/document/ukTMukTMukTM/uYDNxYjL2QTM24iN0EjN/event-subscription-configure-/encrypt-key-encryption-configuration-case
export function decryptFeishu(encryptKey: string, encrypt: string): FeishuDecryption {
  if (typeof encryptKey !== 'string' || encryptKey.length === 0) return refuse('MALFORMED');
  if (!isBase64(encrypt)) return refuse('MALFORMED');
  const raw = Buffer.from(encrypt, 'base64');
  if (raw.length < 32 || raw.length % 16 !== 0) return refuse('BAD_CIPHERTEXT');
  const decipher = createDecipheriv('aes-256-cbc', feishuKey(encryptKey), raw.subarray(0, 16));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]);
  } catch {
    return refuse('BAD_CIPHERTEXT');
  }
  const plaintext = utf8(plain);
  return plaintext === undefined ? refuse('BAD_CIPHERTEXT') : { ok: true, plaintext };
}

/** The inverse of `decryptFeishu`, for tests and fixtures. */
export function encryptFeishu(encryptKey: string, plaintext: string, iv: Buffer = randomBytes(16)): string {
  if (iv.length !== 16) throw new RangeError('the IV must be 16 bytes');
  const cipher = createCipheriv('aes-256-cbc', feishuKey(encryptKey), iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

function feishuKey(encryptKey: string): Buffer {
  return createHash('sha256').update(encryptKey, 'utf8').digest();
}

export type FeishuTokenCheck =
  | { ok: true; kind: 'url_verification'; challenge: string }
  | { ok: true; kind: 'event' }
  | { ok: false; reason: 'MALFORMED' | 'BAD_TOKEN' };

/**
 * The Verification Token check for a decoded (decrypted, if it was encrypted) payload: `header.token`
 * in schema 2.0, the top-level `token` of a v1 event or of the url_verification handshake. The old
 * card callback has no such token (its top-level `token` is the card-update credential): those are
 * MALFORMED here and must be checked with `verifyFeishuLegacyCardSignature`.
 */
// https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/event-subscription-guide/callback-subscription/step-1-choose-a-subscription-mode/send-callbacks-to-developers-server
export function checkFeishuVerificationToken(payload: unknown, verificationToken: string): FeishuTokenCheck {
  if (!isRecord(payload)) return refuse('MALFORMED');
  let token: unknown;
  if (payload.schema === '2.0') token = isRecord(payload.header) ? payload.header.token : undefined;
  else if (payload.type === 'url_verification' || payload.type === 'event_callback') token = payload.token;
  if (typeof token !== 'string') return refuse('MALFORMED');
  if (
    typeof verificationToken !== 'string' ||
    verificationToken.length === 0 ||
    !sameSecret(token, verificationToken)
  ) {
    return refuse('BAD_TOKEN');
  }
  if (payload.type === 'url_verification') {
    return typeof payload.challenge === 'string' && payload.challenge.length > 0
      ? { ok: true, kind: 'url_verification', challenge: payload.challenge }
      : refuse('MALFORMED');
  }
  return { ok: true, kind: 'event' };
}

export interface FeishuCardAction {
  shape: 'v2' | 'legacy';
  openId: string;
  userId: string | null;
  /** The interactive component's `value`: an object or a string, as the card author set it. */
  value: Record<string, unknown> | string | null;
  tag: string | null;
  messageId: string | null;
  chatId: string | null;
  /** Credential for the delayed card update (valid 30 min, twice). */
  token: string | null;
  /** `header.event_id` in schema 2.0: unique per delivery, usable for deduplication. */
  eventId: string | null;
}

export type FeishuCardActionParse =
  | { ok: true; action: FeishuCardAction }
  | { ok: false; reason: 'MALFORMED' };

// v2: https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/card-callback-communication
// legacy: https://open.larksuite.com/document/ukTMukTMukTM/uYzM3QjL2MzN04iNzcDN/configuring-card-callbacks/card-callback-structure
export function parseFeishuCardAction(body: unknown): FeishuCardActionParse {
  if (!isRecord(body)) return refuse('MALFORMED');
  if (body.schema === '2.0') {
    const header = isRecord(body.header) ? body.header : {};
    const event = isRecord(body.event) ? body.event : {};
    const operator = isRecord(event.operator) ? event.operator : {};
    const context = isRecord(event.context) ? event.context : {};
    if (header.event_type !== 'card.action.trigger') return refuse('MALFORMED');
    return cardAction('v2', operator, event.action, {
      messageId: context.open_message_id,
      chatId: context.open_chat_id,
      token: event.token,
      eventId: header.event_id,
    });
  }
  if (body.schema !== undefined || body.type !== undefined) return refuse('MALFORMED');
  return cardAction('legacy', body, body.action, {
    messageId: body.open_message_id,
    chatId: body.open_chat_id,
    token: body.token,
    eventId: undefined,
  });
}

function cardAction(
  shape: FeishuCardAction['shape'],
  operator: Record<string, unknown>,
  action: unknown,
  rest: { messageId: unknown; chatId: unknown; token: unknown; eventId: unknown },
): FeishuCardActionParse {
  const openId = operator.open_id;
  if (typeof openId !== 'string' || openId.length === 0 || !isRecord(action)) return refuse('MALFORMED');
  const value = action.value;
  if (value !== undefined && typeof value !== 'string' && !isRecord(value)) return refuse('MALFORMED');
  return {
    ok: true,
    action: {
      shape,
      openId,
      userId: stringOrNull(operator.user_id),
      value: value ?? null,
      tag: stringOrNull(action.tag),
      messageId: stringOrNull(rest.messageId),
      chatId: stringOrNull(rest.chatId),
      token: stringOrNull(rest.token),
      eventId: stringOrNull(rest.eventId),
    },
  };
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
