import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isNonEmptyString, isRecord, refuse, stringOrNull } from './input.js';
import { checkFresh, replayExpiry } from './replay.js';
import {
  encryptWecom,
  verifyWxBizMsg,
  type WecomRefusal,
  type WecomVerification,
  wecomSignature,
} from './wecom.js';

export type DingtalkRefusal = WecomRefusal;
export type DingtalkVerification = WecomVerification;

const DIGITS = /^\d{1,16}$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
/** Below this a timestamp is in seconds (until the year 5138); above it, milliseconds (since 1973). */
const MILLISECONDS_FROM = 1e11;

/**
 * DingTalk timestamps are milliseconds in the official samples (`1608001896814`) while some doc
 * examples show seconds; the magnitude tells them apart unambiguously.
 */
function timestampSeconds(timestamp: unknown): number | undefined {
  if (typeof timestamp !== 'string' || !DIGITS.test(timestamp)) return undefined;
  const value = Number(timestamp);
  return value >= MILLISECONDS_FROM ? value / 1000 : value;
}

export interface DingtalkCallback {
  token: string;
  /** The 43-character `aes_key` (EncodingAESKey) set on the event subscription page. */
  aesKey: string;
  /** The receiveId: the AppKey for an in-house app's event subscription, the SuiteKey for a third-party app. */
  appKey: string;
  /** `msg_signature` (older pushes: `signature`) query parameter. */
  msgSignature: unknown;
  /** `timestamp` (older pushes: `timeStamp`) query parameter. */
  timestamp: unknown;
  nonce: unknown;
  /** The `encrypt` field of the POSTed JSON. */
  encrypt: unknown;
  nowSeconds: number;
  toleranceSeconds?: number;
}

/**
 * The scheme is WXBizMsgCrypt's (sha1 over the sorted token, timestamp, nonce and encrypt; AES-256-CBC
 * with 32-byte PKCS#7; receiveId trailer), so this is the WeCom check with DingTalk's names and clock.
 */
// https://developers.dingtalk.com/document/app/configure-event-subcription
// (reference code: https://github.com/open-dingtalk/DingTalk-Callback-Crypto). No window is documented; 300 s is ours.
export function verifyDingtalkCallback(callback: DingtalkCallback): DingtalkVerification {
  return verifyWxBizMsg({
    token: callback.token,
    encodingAesKey: callback.aesKey,
    receiveId: callback.appKey,
    msgSignature: callback.msgSignature,
    timestamp: callback.timestamp,
    timestampSeconds: timestampSeconds(callback.timestamp),
    nonce: callback.nonce,
    encrypted: callback.encrypt,
    nowSeconds: callback.nowSeconds,
    toleranceSeconds: callback.toleranceSeconds ?? 300,
    replayNamespace: 'dingtalk',
  });
}

export interface DingtalkEncryptedReply {
  msg_signature: string;
  timeStamp: string;
  nonce: string;
  encrypt: string;
}

/** The body DingTalk expects back from every event callback: the encrypted text `success`, signed. */
export function dingtalkEncryptedReply(reply: {
  token: string;
  aesKey: string;
  appKey: string;
  timestamp: string;
  nonce?: string;
  plaintext?: string;
}): DingtalkEncryptedReply {
  const nonce = reply.nonce ?? randomBytes(8).toString('hex');
  const encrypt = encryptWecom(reply.aesKey, reply.plaintext ?? 'success', reply.appKey);
  return {
    msg_signature: wecomSignature(reply.token, reply.timestamp, nonce, encrypt),
    timeStamp: reply.timestamp,
    nonce,
    encrypt,
  };
}

/** base64(HmacSHA256(key = appSecret, message = `${timestamp}\n${appSecret}`)). */
export function dingtalkRobotSign(appSecret: string, timestamp: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');
}

export interface DingtalkRobotRequest {
  appSecret: string;
  /** `timestamp` header (milliseconds). */
  timestampHeader: string | string[] | undefined;
  /** `sign` header. */
  signHeader: string | string[] | undefined;
  nowSeconds: number;
  /** The documented window is one hour. */
  toleranceSeconds?: number;
}

export type DingtalkRobotVerification =
  | { ok: true; replayKey: string; replayExpiresAt: Date }
  | { ok: false; reason: 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED' };

/**
 * The sign covers only the timestamp, never the body: a captured header pair verifies any body for an
 * hour. The replay key is the sign itself so the guard admits each pair once.
 */
// https://open.dingtalk.com/document/orgapp/receive-message
export function verifyDingtalkRobotRequest(request: DingtalkRobotRequest): DingtalkRobotVerification {
  const { appSecret, timestampHeader, signHeader, nowSeconds } = request;
  const toleranceSeconds = request.toleranceSeconds ?? 3600;
  const seconds = timestampSeconds(timestampHeader);
  if (typeof timestampHeader !== 'string' || seconds === undefined) return refuse('MALFORMED');
  if (typeof signHeader !== 'string' || !BASE64_SHA256.test(signHeader)) return refuse('MALFORMED');
  if (!checkFresh(seconds, nowSeconds, toleranceSeconds)) return refuse('STALE');
  if (typeof appSecret !== 'string' || appSecret.length === 0) return refuse('BAD_SIGNATURE');
  const expected = Buffer.from(dingtalkRobotSign(appSecret, timestampHeader), 'base64');
  if (!timingSafeEqual(expected, Buffer.from(signHeader, 'base64'))) return refuse('BAD_SIGNATURE');
  return {
    ok: true,
    replayKey: `dingtalk-robot:${signHeader}`,
    replayExpiresAt: replayExpiry(seconds, toleranceSeconds),
  };
}

export interface DingtalkCardCallback {
  outTrackId: string;
  userId: string;
  corpId: string | null;
  /** The `actionIds` of `cardPrivateData`; the first is the component that was clicked. */
  actionIds: string[];
  actionId: string;
  params: Record<string, unknown>;
}

export type DingtalkCardCallbackParse =
  | { ok: true; callback: DingtalkCardCallback }
  | { ok: false; reason: 'MALFORMED' };

/**
 * The interactive-card callback (HTTP body, or the `data` of the Stream topic
 * /v1.0/card/instances/callback): `value` (or `content`) is a JSON string of
 * {"cardPrivateData":{"actionIds":[…],"params":{…}}}.
 */
// DingTalk's 卡片事件回调 doc as mirrored at https://apifox.com/apidoc/docs-site/467052/doc-3595405;
// field names per https://github.com/open-dingtalk/dingtalk-stream-sdk-python (dingtalk_stream/card_callback_message.py)
export function parseDingtalkCardCallback(body: unknown): DingtalkCardCallbackParse {
  if (!isRecord(body)) return refuse('MALFORMED');
  const { outTrackId, userId, corpId } = body;
  if (!isNonEmptyString(outTrackId) || !isNonEmptyString(userId)) return refuse('MALFORMED');
  const privateData = cardPrivateData(body.value ?? body.content);
  if (!privateData) return refuse('MALFORMED');
  const { actionIds, params } = privateData;
  if (!Array.isArray(actionIds) || !actionIds.every(isNonEmptyString) || !isNonEmptyString(actionIds[0])) {
    return refuse('MALFORMED');
  }
  if (params !== undefined && !isRecord(params)) return refuse('MALFORMED');
  return {
    ok: true,
    callback: {
      outTrackId,
      userId,
      corpId: stringOrNull(corpId),
      actionIds,
      actionId: actionIds[0],
      params: params ?? {},
    },
  };
}

function cardPrivateData(raw: unknown): Record<string, unknown> | undefined {
  let decoded = raw;
  if (typeof raw === 'string') {
    try {
      decoded = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return isRecord(decoded) && isRecord(decoded.cardPrivateData) ? decoded.cardPrivateData : undefined;
}
