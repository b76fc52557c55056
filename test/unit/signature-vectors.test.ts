import { describe, expect, it } from 'vitest';
import { feishuBotChannel } from '../../src/channels/feishu.js';
import { dingtalkRobotSign } from '../../src/security/inbound/dingtalk.js';
import {
  feishuSignature,
  verifyFeishuLegacyCardSignature,
  verifyFeishuSignature,
} from '../../src/security/inbound/feishu.js';
import { signBody } from '../../src/security/signature.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { outboundMessage } from '../support/outbound-message.js';
import {
  dingtalkRobotSignature,
  feishuBotSignature,
  larkLegacyCardSignature,
  larkSignature,
  matterflowWebhookSignature,
} from '../support/verifying-vendors.js';

/*
 * Known answers, computed once by hand (Node crypto and Python hmac/hashlib agreed) and pasted here, so a
 * change of algorithm fails both in the project and in the verifying receivers of the contract tests.
 * WeCom msg_signature and AES, DingTalk callback crypto and Slack v0 have theirs in test/unit/inbound-*.
 */

/** Feishu custom bot: the guide's example timestamp (seconds) with a secret of the shape the console issues. */
const FEISHU_BOT = {
  timestamp: '1599360473',
  secret: 'y7mVxfB9sWq2pL4kR8tZ',
  sign: 'DtadAAbE48Gx3eQAqGbSdJiTog3gVmQvU8eGNZWmrOI=',
};

const LARK_TIMESTAMP = '1700000000';
const LARK_NONCE = 'b9d1c3e5-7f2a-4c6e-8a0b-1d3f5e7a9c2b';

/** X-Lark-Signature of an event callback: sha256 hex of timestamp ‖ nonce ‖ encrypt key ‖ body. */
const LARK = {
  encryptKey: 'kD2xQ8encrypt-key',
  body: '{"schema":"2.0","header":{"event_id":"5e3702a84e847582be8db7fb73283c02","event_type":"card.action.trigger"}}',
  signature: '4baf9e1cfbeeb661b6f24c52464b5de88ab48c7679978cb36804676d6c8ae5ac',
};

/** X-Lark-Signature of the legacy card request URL: sha1 hex of timestamp ‖ nonce ‖ verification token ‖ body. */
const LARK_LEGACY_CARD = {
  verificationToken: 'v3rificationT0ken',
  body: '{"open_id":"ou_5ad573a6411d72b8305fda3a9c15c70e","action":{"tag":"button","value":{"action":"complete"}}}',
  signature: '151e075acc0db7d26a58ab9c691b8ad38133994a',
};

/** DingTalk custom robot, the pair channel-dingtalk.test.ts pins on the wire. */
const DINGTALK_ROBOT = {
  timestamp: '1700000000000',
  secret: 'secret',
  sign: 'OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY=',
};

/** Our own webhook signature (README), over a small body. */
const WEBHOOK = {
  secret: 'webhook-secret-0123456789',
  body: '{"type":"matter.assigned"}',
  signature: 'sha256=ba2e2b6fc09e748de9a6cf24a3a1b554a7009758ce9e8f65e6ea22f398b85a1e',
};

const flipLast = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;

describe('Feishu custom bot sign: base64(HmacSHA256(key = timestamp + "\\n" + secret, message = empty))', () => {
  const vendor = useFakeVendor();

  it('the bot channel sends the known sign with its timestamp in seconds', async () => {
    vendor.on('POST', '/open-apis/bot/v2/hook/hook-token', { json: { code: 0, msg: 'success', data: {} } });
    const channel = feishuBotChannel({
      baseUrl: vendor.url,
      timeoutMs: 2_000,
      now: () => new Date(Number(FEISHU_BOT.timestamp) * 1000 + 999),
    });
    await channel.send(
      { type: 'feishu-bot', address: 'hook-token', settings: { secret: FEISHU_BOT.secret } },
      outboundMessage(),
    );
    expect(vendor.requests[0]!.body).toMatchObject({
      timestamp: FEISHU_BOT.timestamp,
      sign: FEISHU_BOT.sign,
    });
  });

  it('the verifying receiver computes the same known sign', () => {
    expect(feishuBotSignature(FEISHU_BOT.secret, FEISHU_BOT.timestamp)).toBe(FEISHU_BOT.sign);
  });
});

describe('Feishu X-Lark-Signature: sha256(timestamp + nonce + encryptKey + body)', () => {
  const request = {
    timestamp: LARK_TIMESTAMP,
    nonce: LARK_NONCE,
    encryptKey: LARK.encryptKey,
    rawBody: LARK.body,
    nowSeconds: Number(LARK_TIMESTAMP),
  };

  it('computes the known signature', () => {
    expect(feishuSignature(LARK_TIMESTAMP, LARK_NONCE, LARK.encryptKey, LARK.body)).toBe(LARK.signature);
    expect(larkSignature(LARK_TIMESTAMP, LARK_NONCE, LARK.encryptKey, LARK.body)).toBe(LARK.signature);
  });

  it('verifies the known signature and refuses it with one digit changed', () => {
    expect(verifyFeishuSignature({ ...request, signature: LARK.signature })).toMatchObject({ ok: true });
    expect(verifyFeishuSignature({ ...request, signature: flipLast(LARK.signature) })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });
});

describe('Feishu legacy card X-Lark-Signature: sha1(timestamp + nonce + verificationToken + body)', () => {
  const request = {
    timestamp: LARK_TIMESTAMP,
    nonce: LARK_NONCE,
    verificationToken: LARK_LEGACY_CARD.verificationToken,
    rawBody: LARK_LEGACY_CARD.body,
    signature: LARK_LEGACY_CARD.signature,
    nowSeconds: Number(LARK_TIMESTAMP),
  };

  it('the verifying receiver computes the known signature', () => {
    expect(
      larkLegacyCardSignature(
        LARK_TIMESTAMP,
        LARK_NONCE,
        LARK_LEGACY_CARD.verificationToken,
        LARK_LEGACY_CARD.body,
      ),
    ).toBe(LARK_LEGACY_CARD.signature);
  });

  it('verifies the known signature, and refuses it over another body or token', () => {
    expect(verifyFeishuLegacyCardSignature(request)).toMatchObject({ ok: true });
    const refused = { ok: false, reason: 'BAD_SIGNATURE' };
    expect(verifyFeishuLegacyCardSignature({ ...request, rawBody: `${LARK_LEGACY_CARD.body} ` })).toEqual(
      refused,
    );
    expect(verifyFeishuLegacyCardSignature({ ...request, verificationToken: 'another-token' })).toEqual(
      refused,
    );
  });
});

describe('DingTalk custom robot sign: base64(HmacSHA256(key = secret, message = timestamp + "\\n" + secret))', () => {
  it('the project and the verifying receiver compute the known sign', () => {
    expect(dingtalkRobotSign(DINGTALK_ROBOT.secret, DINGTALK_ROBOT.timestamp)).toBe(DINGTALK_ROBOT.sign);
    expect(dingtalkRobotSignature(DINGTALK_ROBOT.secret, DINGTALK_ROBOT.timestamp)).toBe(DINGTALK_ROBOT.sign);
  });
});

describe('matterflow webhook: x-matterflow-signature = sha256=<hex HMAC-SHA256(secret, raw body)>', () => {
  it('the project and the verifying receiver compute the known signature', () => {
    expect(signBody(WEBHOOK.secret, WEBHOOK.body)).toBe(WEBHOOK.signature);
    expect(matterflowWebhookSignature(WEBHOOK.secret, WEBHOOK.body)).toBe(WEBHOOK.signature);
  });
});
