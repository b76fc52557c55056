import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { type Locale, localeOf, say } from '../../channels/message-text.js';
import type { ChannelSettings } from '../../channels/settings.js';
import { parseWecomButtonKey } from '../../channels/wecom.js';
import type { Sql } from '../../db/client.js';
import { standsInFor } from '../../db/delegations.js';
import { handlerByChannelAddress } from '../../db/handler-channels.js';
import { getHandler } from '../../db/handlers.js';
import { PostgresReplayGuard } from '../../db/replay-guard.js';
import {
  dingtalkEncryptedReply,
  parseDingtalkCardCallback,
  verifyDingtalkCallback,
} from '../../security/inbound/dingtalk.js';
import {
  checkFeishuVerificationToken,
  decryptFeishu,
  parseFeishuCardAction,
  verifyFeishuSignature,
} from '../../security/inbound/feishu.js';
import { isNonEmptyString, isRecord, utf8 } from '../../security/inbound/input.js';
import { checkFresh, replayExpiry } from '../../security/inbound/replay.js';
import { parseSlackInteraction, verifySlackRequest } from '../../security/inbound/slack.js';
import {
  extractXmlFields,
  parseWecomTemplateCardEvent,
  verifyWecomCallback,
} from '../../security/inbound/wecom.js';
import { actionLinkService } from '../action-link-service.js';
import { ApiError, badRequest } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { ErrorResponse } from '../schemas.js';

/** A button click is a few hundred bytes; nothing bigger needs reading before the signature check. */
const BODY_LIMIT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Feishu documents no window for its create_time; the same 300 s as its signed requests. */
const FEISHU_TOLERANCE_S = 300;

/** The only card action a click can take alone: transfer and exception need a form, which the button's link opens. */
const CLICK_ACTION = 'complete';

type Refusal = 'STALE' | 'BAD_SIGNATURE' | 'MALFORMED' | 'BAD_CIPHERTEXT' | 'WRONG_RECEIVER';
interface Verified {
  replayKey: string;
  replayExpiresAt: Date;
}

const malformed = (message: string) => badRequest('MALFORMED', message);

/** Until a request verifies, whatever is wrong with it means it cannot be trusted: 401. */
function refused(reason: Refusal): ApiError {
  if (reason === 'STALE') {
    return new ApiError(401, 'STALE_REQUEST', 'the request is outside the vendor’s signature window');
  }
  if (reason === 'BAD_CIPHERTEXT' || reason === 'WRONG_RECEIVER') {
    return malformed('the signed payload does not decrypt for this deployment');
  }
  return new ApiError(401, 'BAD_SIGNATURE', 'the request signature is missing or does not verify');
}

function notConfigured(vendor: string): never {
  throw new ApiError(404, 'CALLBACK_NOT_CONFIGURED', `${vendor} callbacks are not configured here`);
}

const nowSeconds = () => Date.now() / 1000;

function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Without an Encrypt Key Feishu signs nothing: freshness comes from the event's create_time and
 * repeats are told apart by its event_id.
 */
function feishuEventWindow(payload: Record<string, unknown>): Verified {
  const header = isRecord(payload.header) ? payload.header : {};
  const { event_id: eventId, create_time: createTime } = header;
  if (!isNonEmptyString(eventId) || typeof createTime !== 'string' || !/^\d{1,16}$/.test(createTime)) {
    throw malformed('the event has no event_id or create_time');
  }
  const seconds = Number(createTime) / 1000;
  if (!checkFresh(seconds, nowSeconds(), FEISHU_TOLERANCE_S)) throw refused('STALE');
  return {
    replayKey: `feishu-event:${eventId}`,
    replayExpiresAt: replayExpiry(seconds, FEISHU_TOLERANCE_S),
  };
}

const WecomQuery = Type.Object({
  msg_signature: Type.Optional(Type.String({ maxLength: 128 })),
  timestamp: Type.Optional(Type.String({ maxLength: 32 })),
  nonce: Type.Optional(Type.String({ maxLength: 256 })),
  echostr: Type.Optional(Type.String({ maxLength: 4096 })),
});

/** DingTalk's samples name them msg_signature and timestamp; older pushes, signature and timeStamp. */
const DingtalkQuery = Type.Object({
  msg_signature: Type.Optional(Type.String({ maxLength: 128 })),
  signature: Type.Optional(Type.String({ maxLength: 128 })),
  timestamp: Type.Optional(Type.String({ maxLength: 32 })),
  timeStamp: Type.Optional(Type.String({ maxLength: 32 })),
  nonce: Type.Optional(Type.String({ maxLength: 256 })),
});

const schema = (summary: string, description: string) => ({
  tags: ['callbacks'],
  summary,
  description,
  response: { 200: Type.Unknown({ description: 'what the vendor expects back' }), '4xx': ErrorResponse },
});

/**
 * Signed callbacks from IM vendors when a handler presses a card button. Each is verified, admitted
 * once, tied to the handler whose channel has the sender's vendor id, and acted on through the
 * matter service exactly as the API would, so the workflow records and audits it the same way.
 */
export const callbackRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  matters: MatterService;
  callbacks: ChannelSettings['callbacks'];
  linkSecret: string;
}> = async (app, { sql, matters, callbacks, linkSecret }) => {
  const links = actionLinkService({ sql, matters, linkSecret });
  const guard = new PostgresReplayGuard(sql);

  // Signatures cover the bytes as sent, so every body stays unparsed, whatever type it claims.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  async function admitOnce(verified: Verified): Promise<void> {
    if (!(await guard.firstSeen(verified.replayKey, verified.replayExpiresAt))) {
      throw new ApiError(409, 'REPLAYED', 'this callback was already received');
    }
  }

  /** A failure that never reached the matter lets the vendor's retry through. */
  async function settle<T>(verified: Verified, act: () => Promise<T>): Promise<T> {
    try {
      return await act();
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode >= 500) await guard.forget(verified.replayKey);
      throw err;
    }
  }

  async function sender(type: string, addresses: string[]): Promise<string> {
    const handlerId = await handlerByChannelAddress(sql, type, addresses);
    if (!handlerId) throw new ApiError(403, 'UNKNOWN_SENDER', `no active handler has this ${type} user`);
    return handlerId;
  }

  /** What a button press answers is read by the one who pressed it. */
  async function presserLocale(handlerId: string): Promise<Locale> {
    return localeOf((await getHandler(sql, handlerId))?.locale);
  }

  /** As the API's routes act: for the absent holder when standing in, else as themselves for the workflow to judge. */
  async function completeAs(handlerId: string, matterId: string) {
    if (!UUID.test(matterId)) throw malformed('the button names no matter');
    return matters.complete(matterId, await matters.actorOn(handlerId, await matters.load(matterId)));
  }

  /**
   * The checks of the action link itself (signature, stored state, current holder or stand-in), plus
   * that the person who pressed the button is the one it was sent to, or stands in for them.
   */
  async function completeByLink(handlerId: string, token: string) {
    const { claims, matter } = await links.open(token);
    if (claims.action !== CLICK_ACTION) throw malformed('the button and its action link disagree');
    if (claims.handlerId !== handlerId && !(await standsInFor(sql, handlerId, claims.handlerId))) {
      throw new ApiError(403, 'NOT_YOUR_MATTER', `this button was sent to ${claims.handlerId}`);
    }
    return links.use(
      token,
      claims.matterId,
      async () => matters.complete(claims.matterId, await matters.actorOn(handlerId, matter)),
      (err) => !(err instanceof ApiError) || err.statusCode >= 500,
    );
  }

  app.post(
    '/v1/callbacks/slack',
    {
      bodyLimit: BODY_LIMIT,
      schema: schema(
        'Slack interactivity: a card button was pressed',
        'block_actions signed with SLACK_SIGNING_SECRET; the complete button completes the matter named by its value.',
      ),
    },
    async (request, reply) => {
      const slack = callbacks.slack ?? notConfigured('Slack');
      const body = rawBody(request);
      const verified = verifySlackRequest({
        signingSecret: slack.signingSecret,
        timestampHeader: request.headers['x-slack-request-timestamp'],
        signatureHeader: request.headers['x-slack-signature'],
        rawBody: body,
        nowSeconds: nowSeconds(),
      });
      if (!verified.ok) throw refused(verified.reason);
      await admitOnce(verified);
      const parsed = parseSlackInteraction(body);
      if (!parsed.ok) throw malformed('not a block_actions payload');
      const { userId, actionId, value } = parsed.interaction;
      const handlerId = await sender('slack', [userId]);
      // Slack needs a 200 for the other buttons too: they open their link in the browser.
      if (actionId !== CLICK_ACTION) return reply.send('');
      const result = await settle(verified, () => completeAs(handlerId, value ?? ''));
      return reply.send({
        response_type: 'ephemeral',
        replace_original: false,
        text: say(await presserLocale(handlerId), 'callback.completed', { id: result.id }),
      });
    },
  );

  app.get(
    '/v1/callbacks/wecom',
    {
      schema: {
        ...schema(
          'WeCom URL verification',
          'Answers the decrypted echostr when msg_signature verifies with WECOM_CALLBACK_TOKEN.',
        ),
        querystring: WecomQuery,
      },
    },
    async (request, reply) => {
      const wecom = callbacks.wecom ?? notConfigured('WeCom');
      const { msg_signature, timestamp, nonce, echostr } = request.query;
      const verified = verifyWecomCallback({
        ...wecom,
        msgSignature: msg_signature,
        timestamp,
        nonce,
        encrypted: echostr,
        nowSeconds: nowSeconds(),
      });
      if (!verified.ok) throw refused(verified.reason);
      return reply.type('text/plain; charset=utf-8').send(verified.message);
    },
  );

  app.post(
    '/v1/callbacks/wecom',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...schema(
          'WeCom template card event: a card button was pressed',
          'Encrypted XML signed with WECOM_CALLBACK_TOKEN; the complete button acts through the action link in its key.',
        ),
        querystring: WecomQuery,
      },
    },
    async (request, reply) => {
      const wecom = callbacks.wecom ?? notConfigured('WeCom');
      const envelope = extractXmlFields(utf8(rawBody(request)) ?? '');
      if (!envelope?.has('Encrypt')) throw malformed('not a WeCom callback packet');
      const { msg_signature, timestamp, nonce } = request.query;
      const verified = verifyWecomCallback({
        ...wecom,
        msgSignature: msg_signature,
        timestamp,
        nonce,
        encrypted: envelope.get('Encrypt'),
        nowSeconds: nowSeconds(),
      });
      if (!verified.ok) throw refused(verified.reason);
      await admitOnce(verified);
      // WeCom documents an empty 200 as "nothing to reply"; its retry comes only when none arrives.
      const done = () => reply.type('text/plain; charset=utf-8').send('');
      const fields = extractXmlFields(verified.message);
      if (!fields) throw malformed('the decrypted packet is not WeCom XML');
      // The app's URL also gets its other messages and events, which are not ours to answer.
      if (fields.get('MsgType') !== 'event' || fields.get('Event') !== 'template_card_event') return done();
      const parsed = parseWecomTemplateCardEvent(verified.message);
      if (!parsed.ok) throw malformed('an incomplete template_card_event');
      const button = parseWecomButtonKey(parsed.event.eventKey);
      if (!button) throw malformed('not a matterflow button');
      const handlerId = await sender('wecom', [parsed.event.fromUserName]);
      if (button.action === CLICK_ACTION) {
        await settle(verified, () => completeByLink(handlerId, button.token));
      }
      return done();
    },
  );

  app.post(
    '/v1/callbacks/feishu',
    {
      bodyLimit: BODY_LIMIT,
      schema: schema(
        'Feishu card callback (card.action.trigger) and its url_verification',
        'Signed and encrypted with FEISHU_ENCRYPT_KEY, and/or carrying FEISHU_VERIFICATION_TOKEN; a value of { action: "complete", matterId } completes the matter.',
      ),
    },
    async (request, reply) => {
      const feishu = callbacks.feishu ?? notConfigured('Feishu');
      const body = rawBody(request);
      const outer = parseJson(utf8(body));
      if (!outer) throw malformed('the body is not a JSON object');
      let payload = outer;
      let verified: Verified | null = null;
      if (feishu.encryptKey) {
        if (typeof outer.encrypt !== 'string') throw malformed('the body is not encrypted');
        const signed = request.headers['x-lark-signature'] !== undefined;
        if (signed) {
          const check = verifyFeishuSignature({
            timestamp: request.headers['x-lark-request-timestamp'],
            nonce: request.headers['x-lark-request-nonce'],
            signature: request.headers['x-lark-signature'],
            encryptKey: feishu.encryptKey,
            rawBody: body,
            nowSeconds: nowSeconds(),
          });
          if (!check.ok) throw refused(check.reason);
          verified = check;
        }
        const decrypted = decryptFeishu(feishu.encryptKey, outer.encrypt);
        const inner = decrypted.ok ? parseJson(decrypted.plaintext) : undefined;
        // Unsigned, a failed decryption gets the same answer as any other forgery: no padding oracle.
        if (!inner) throw signed ? malformed('the payload does not decrypt') : refused('BAD_SIGNATURE');
        payload = inner;
      }
      if (feishu.verificationToken) {
        const token = checkFeishuVerificationToken(payload, feishu.verificationToken);
        if (!token.ok)
          throw token.reason === 'BAD_TOKEN' ? refused('BAD_SIGNATURE') : malformed(token.reason);
        if (token.kind === 'url_verification') return reply.send({ challenge: token.challenge });
      } else if (payload.type === 'url_verification') {
        // Reached only with an Encrypt Key: decrypting the challenge is the proof.
        if (!isNonEmptyString(payload.challenge)) throw malformed('url_verification without a challenge');
        return reply.send({ challenge: payload.challenge });
      }
      if (!verified) {
        if (feishu.encryptKey) throw refused('BAD_SIGNATURE');
        verified = feishuEventWindow(payload);
      }
      await admitOnce(verified);
      const parsed = parseFeishuCardAction(payload);
      if (!parsed.ok || parsed.action.shape !== 'v2') throw malformed('not a card.action.trigger callback');
      const { value, userId, openId } = parsed.action;
      if (!isRecord(value) || !isNonEmptyString(value.action) || !isNonEmptyString(value.matterId)) {
        throw malformed('the button carries no matterflow action');
      }
      const handlerId = await sender('feishu', userId ? [userId, openId] : [openId]);
      // The other buttons jump to their link as well, where the form is.
      if (value.action !== CLICK_ACTION) return reply.send({});
      const matterId = value.matterId;
      const result = await settle(verified, () => completeAs(handlerId, matterId));
      const content = say(await presserLocale(handlerId), 'callback.completed', { id: result.id });
      return reply.send({ toast: { type: 'success', content } });
    },
  );

  app.post(
    '/v1/callbacks/dingtalk',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...schema(
          'DingTalk event push: check_url and interactive card callbacks',
          'Encrypted with DINGTALK_CALLBACK_AES_KEY for DINGTALK_APP_KEY and signed with DINGTALK_CALLBACK_TOKEN; a card button with params { action: "complete", token } acts through that action link.',
        ),
        querystring: DingtalkQuery,
      },
    },
    async (request, reply) => {
      const dingtalk = callbacks.dingtalk ?? notConfigured('DingTalk');
      const envelope = parseJson(utf8(rawBody(request)));
      if (!envelope || typeof envelope.encrypt !== 'string')
        throw malformed('not a DingTalk callback packet');
      const { msg_signature, signature, timestamp, timeStamp, nonce } = request.query;
      const verified = verifyDingtalkCallback({
        ...dingtalk,
        msgSignature: msg_signature ?? signature,
        timestamp: timestamp ?? timeStamp,
        nonce,
        encrypt: envelope.encrypt,
        nowSeconds: nowSeconds(),
      });
      if (!verified.ok) throw refused(verified.reason);
      // DingTalk takes anything but its encrypted "success" for a failure and pushes again.
      const success = () =>
        reply.send(dingtalkEncryptedReply({ ...dingtalk, timestamp: String(Date.now()) }));
      const event = parseJson(verified.message);
      if (!event) throw malformed('the decrypted packet is not JSON');
      // Saving the URL in DingTalk's console may check it more than once; answering changes nothing.
      if (event.EventType === 'check_url') return success();
      await admitOnce(verified);
      // The app's other events come to the same URL and are not ours to act on.
      if (event.outTrackId === undefined) return success();
      const parsed = parseDingtalkCardCallback(event);
      if (!parsed.ok) throw malformed('an incomplete card callback');
      const { userId, params } = parsed.callback;
      const handlerId = await sender('dingtalk', [userId]);
      if (params.action === CLICK_ACTION) {
        const token = params.token;
        if (!isNonEmptyString(token)) throw malformed('the button carries no action link');
        await settle(verified, () => completeByLink(handlerId, token));
      }
      return success();
    },
  );
};
