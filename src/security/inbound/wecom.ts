import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isBase64, refuse, utf8 } from './input.js';
import { checkFresh, replayExpiry } from './replay.js';

export type WecomRefusal = 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED' | 'BAD_CIPHERTEXT' | 'WRONG_RECEIVER';

export type WecomDecryption =
  | { ok: true; message: string }
  | { ok: false; reason: 'MALFORMED' | 'BAD_CIPHERTEXT' | 'WRONG_RECEIVER' };

export type WecomVerification =
  | { ok: true; message: string; replayKey: string; replayExpiresAt: Date }
  | { ok: false; reason: WecomRefusal };

const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
const SHA1_HEX = /^[0-9a-fA-F]{40}$/;
const SECONDS = /^\d{1,15}$/;
const MAX_NONCE_LENGTH = 256;
/** WXBizMsgCrypt pads to 32-byte blocks, not AES's 16. */
const PAD_BLOCK = 32;
const RANDOM_PREFIX = 16;
const LENGTH_FIELD = 4;

// https://developer.work.weixin.qq.com/document/path/90968 (消息体签名)
export function wecomSignature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypted].sort().join('')).digest('hex');
}

/**
 * AES-256-CBC, key = base64(EncodingAESKey + '='), IV = key[0..16), PKCS#7 to 32-byte blocks over
 * random(16) ‖ uint32be(len) ‖ msg ‖ receiveId. CBC is malleable and the padding check is not
 * constant-time: decrypt only what `verifyWecomCallback` has already authenticated.
 */
// https://developer.work.weixin.qq.com/document/path/90968 (加解密方案说明)
export function decryptWecom(
  encodingAesKey: string,
  encrypted: string,
  expectedReceiveId: string,
): WecomDecryption {
  const key = aesKeyOf(encodingAesKey);
  if (!key || typeof expectedReceiveId !== 'string' || !isBase64(encrypted)) return refuse('MALFORMED');
  const cipherText = Buffer.from(encrypted, 'base64');
  if (cipherText.length < PAD_BLOCK || cipherText.length % 16 !== 0) return refuse('BAD_CIPHERTEXT');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const body = unpad(Buffer.concat([decipher.update(cipherText), decipher.final()]));
  if (!body || body.length < RANDOM_PREFIX + LENGTH_FIELD) return refuse('BAD_CIPHERTEXT');
  const start = RANDOM_PREFIX + LENGTH_FIELD;
  const length = body.readUInt32BE(RANDOM_PREFIX);
  if (length > body.length - start) return refuse('BAD_CIPHERTEXT');
  const message = utf8(body.subarray(start, start + length));
  const receiveId = utf8(body.subarray(start + length));
  if (message === undefined || receiveId === undefined) return refuse('BAD_CIPHERTEXT');
  if (receiveId !== expectedReceiveId) return refuse('WRONG_RECEIVER');
  return { ok: true, message };
}

/** The inverse of `decryptWecom`, for passive replies and tests. Throws on a malformed key: that is our config, not input. */
export function encryptWecom(
  encodingAesKey: string,
  message: string,
  receiveId: string,
  random: Buffer = randomBytes(RANDOM_PREFIX),
): string {
  const key = aesKeyOf(encodingAesKey);
  if (!key) throw new RangeError('EncodingAESKey must be 43 characters of [A-Za-z0-9]');
  if (random.length !== RANDOM_PREFIX) throw new RangeError('the random prefix must be 16 bytes');
  const messageBytes = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(LENGTH_FIELD);
  length.writeUInt32BE(messageBytes.length);
  const plain = Buffer.concat([random, length, messageBytes, Buffer.from(receiveId, 'utf8')]);
  const pad = PAD_BLOCK - (plain.length % PAD_BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
}

export interface WxBizMsgInput {
  token: string;
  encodingAesKey: string;
  receiveId: string;
  msgSignature: unknown;
  timestamp: unknown;
  /** The caller's reading of `timestamp` in seconds; undefined when it is not a timestamp at all. */
  timestampSeconds: number | undefined;
  nonce: unknown;
  encrypted: unknown;
  nowSeconds: number;
  toleranceSeconds: number;
  replayNamespace: string;
}

/** The WXBizMsgCrypt check (freshness, signature, then decryption), shared with DingTalk's event callbacks. */
export function verifyWxBizMsg(input: WxBizMsgInput): WecomVerification {
  const { token, encodingAesKey, receiveId, msgSignature, timestamp, timestampSeconds, nonce, encrypted } =
    input;
  if (
    typeof msgSignature !== 'string' ||
    !SHA1_HEX.test(msgSignature) ||
    typeof timestamp !== 'string' ||
    timestampSeconds === undefined ||
    typeof nonce !== 'string' ||
    nonce.length === 0 ||
    nonce.length > MAX_NONCE_LENGTH ||
    !isBase64(encrypted) ||
    !aesKeyOf(encodingAesKey)
  ) {
    return refuse('MALFORMED');
  }
  if (!checkFresh(timestampSeconds, input.nowSeconds, input.toleranceSeconds)) return refuse('STALE');
  // An empty token leaves the SHA-1 unkeyed: anyone could compute it.
  if (typeof token !== 'string' || token.length === 0) return refuse('BAD_SIGNATURE');
  const expected = Buffer.from(wecomSignature(token, timestamp, nonce, encrypted), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(msgSignature, 'hex'))) return refuse('BAD_SIGNATURE');
  const decrypted = decryptWecom(encodingAesKey, encrypted, receiveId);
  if (!decrypted.ok) return decrypted;
  return {
    ok: true,
    message: decrypted.message,
    replayKey: `${input.replayNamespace}:${msgSignature.toLowerCase()}`,
    replayExpiresAt: replayExpiry(timestampSeconds, input.toleranceSeconds),
  };
}

export interface WecomCallback {
  token: string;
  encodingAesKey: string;
  /** The receiveId: the CorpID for an in-house app (see the doc's 附注 for other scenarios). */
  corpId: string;
  /** `msg_signature` query parameter. */
  msgSignature: unknown;
  /** `timestamp` query parameter (seconds). */
  timestamp: unknown;
  nonce: unknown;
  /** The URL-decoded `echostr` of the GET check, or the `Encrypt` field of the POSTed XML. */
  encrypted: unknown;
  nowSeconds: number;
  toleranceSeconds?: number;
}

// https://developer.work.weixin.qq.com/document/path/90968 and the WXBizMsgCrypt VerifyURL/DecryptMsg samples
// (https://developer.work.weixin.qq.com/document/path/91144). WeCom documents no freshness window; 300 s is ours.
export function verifyWecomCallback(callback: WecomCallback): WecomVerification {
  const { timestamp } = callback;
  return verifyWxBizMsg({
    token: callback.token,
    encodingAesKey: callback.encodingAesKey,
    receiveId: callback.corpId,
    msgSignature: callback.msgSignature,
    timestamp,
    timestampSeconds:
      typeof timestamp === 'string' && SECONDS.test(timestamp) ? Number(timestamp) : undefined,
    nonce: callback.nonce,
    encrypted: callback.encrypted,
    nowSeconds: callback.nowSeconds,
    toleranceSeconds: callback.toleranceSeconds ?? 300,
    replayNamespace: 'wecom',
  });
}

const XML_NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const MAX_XML_DEPTH = 8;

/**
 * The direct children of the root element of a WeCom XML packet, as text (CDATA sections and plain
 * character data concatenated; nested elements skipped). Undefined for anything outside that
 * subset: attributes, comments, processing instructions, DOCTYPE, duplicate fields. Entities are
 * never expanded; plain text comes back verbatim.
 */
export function extractXmlFields(xml: string): ReadonlyMap<string, string> | undefined {
  if (typeof xml !== 'string') return undefined;
  let at = 0;
  const skipSpace = () => {
    while (at < xml.length && ' \t\r\n'.includes(xml.charAt(at))) at++;
  };
  const openTag = (): string | undefined => {
    if (xml.charAt(at) !== '<') return undefined;
    XML_NAME.lastIndex = at + 1;
    const name = XML_NAME.exec(xml)?.[0];
    if (name === undefined) return undefined;
    at = XML_NAME.lastIndex;
    if (xml.charAt(at) !== '>') return undefined;
    at++;
    return name;
  };
  const content = (name: string, depth: number): string | undefined => {
    const close = `</${name}>`;
    let text = '';
    while (at < xml.length) {
      if (xml.startsWith(close, at)) {
        at += close.length;
        return text;
      }
      if (xml.startsWith('<![CDATA[', at)) {
        const end = xml.indexOf(']]>', at + 9);
        if (end < 0) return undefined;
        text += xml.slice(at + 9, end);
        at = end + 3;
      } else if (xml.charAt(at) === '<') {
        const child = depth < MAX_XML_DEPTH ? openTag() : undefined;
        if (child === undefined || content(child, depth + 1) === undefined) return undefined;
      } else {
        const next = xml.indexOf('<', at);
        if (next < 0) return undefined;
        text += xml.slice(at, next);
        at = next;
      }
    }
    return undefined;
  };

  skipSpace();
  if (xml.startsWith('<?xml ', at)) {
    const end = xml.indexOf('?>', at);
    if (end < 0) return undefined;
    at = end + 2;
    skipSpace();
  }
  const root = openTag();
  if (root === undefined) return undefined;
  const fields = new Map<string, string>();
  for (;;) {
    skipSpace();
    if (xml.startsWith(`</${root}>`, at)) {
      at += root.length + 3;
      skipSpace();
      return at === xml.length ? fields : undefined;
    }
    const name = openTag();
    if (name === undefined || fields.has(name)) return undefined;
    const value = content(name, 1);
    if (value === undefined) return undefined;
    fields.set(name, value);
  }
}

export interface WecomTemplateCardEvent {
  event: 'template_card_event' | 'template_card_menu_event';
  /** ToUserName: the CorpID the event was addressed to. */
  toUserName: string;
  /** The member's UserID. */
  fromUserName: string;
  /** The clicked button's `key`. */
  eventKey: string;
  /** The `task_id` the card was sent with. */
  taskId: string;
  cardType: string | null;
  /** Single-use credential for updating the card (valid 72 h per the doc). */
  responseCode: string | null;
  agentId: string | null;
  createTime: number | null;
}

export type WecomTemplateCardParse =
  | { ok: true; event: WecomTemplateCardEvent }
  | { ok: false; reason: 'MALFORMED' };

// https://developer.work.weixin.qq.com/document/path/90240 (模板卡片事件推送)
export function parseWecomTemplateCardEvent(xml: string): WecomTemplateCardParse {
  const fields = extractXmlFields(xml);
  if (fields?.get('MsgType') !== 'event') return refuse('MALFORMED');
  const event = fields.get('Event');
  if (event !== 'template_card_event' && event !== 'template_card_menu_event') return refuse('MALFORMED');
  const toUserName = fields.get('ToUserName');
  const fromUserName = fields.get('FromUserName');
  const eventKey = fields.get('EventKey');
  const taskId = fields.get('TaskId');
  if (!toUserName || !fromUserName || !eventKey || !taskId) return refuse('MALFORMED');
  const createTime = fields.get('CreateTime');
  return {
    ok: true,
    event: {
      event,
      toUserName,
      fromUserName,
      eventKey,
      taskId,
      cardType: fields.get('CardType') || null,
      responseCode: fields.get('ResponseCode') || null,
      agentId: fields.get('AgentID') || null,
      createTime: createTime !== undefined && SECONDS.test(createTime) ? Number(createTime) : null,
    },
  };
}

function aesKeyOf(encodingAesKey: unknown): Buffer | undefined {
  if (typeof encodingAesKey !== 'string' || !ENCODING_AES_KEY.test(encodingAesKey)) return undefined;
  // Vendors' own keys sometimes carry non-zero trailing bits; WXBizMsgCrypt decodes them leniently, so do we.
  return Buffer.from(`${encodingAesKey}=`, 'base64');
}

function unpad(plain: Buffer): Buffer | undefined {
  const pad = plain[plain.length - 1];
  if (pad === undefined || pad < 1 || pad > PAD_BLOCK || pad > plain.length) return undefined;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return undefined;
  return plain.subarray(0, plain.length - pad);
}
