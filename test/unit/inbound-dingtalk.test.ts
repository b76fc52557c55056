import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dingtalkEncryptedReply,
  dingtalkRobotSign,
  parseDingtalkCardCallback,
  verifyDingtalkCallback,
  verifyDingtalkRobotRequest,
} from '../../src/security/inbound/dingtalk.js';
import { decryptWecom, encryptWecom } from '../../src/security/inbound/wecom.js';

// The check_url example at the bottom of DingCallbackCrypto3.py in
// https://github.com/open-dingtalk/DingTalk-Callback-Crypto (DingTalk's reference implementation).
const SAMPLE = {
  token: 'mryue',
  aesKey: 'Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7',
  appKey: 'ding6ccabc44d2c8d38b',
  msgSignature: '03044561471240d4a14bb09372dfcfd4fd0e40cb',
  timestamp: '1608001896814',
  nonce: 'WL4PK6yA',
  encrypt:
    '0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3',
};
const SAMPLE_NOW = 1608001896.814;

const NOW_MS = 1_700_000_000_123;
const NOW = NOW_MS / 1000;

function signedCallback(
  message: string,
  appKey = SAMPLE.appKey,
  timestamp = String(NOW_MS),
  nonce = 'aBcD1234',
) {
  const encrypt = encryptWecom(SAMPLE.aesKey, message, appKey);
  return {
    token: SAMPLE.token,
    aesKey: SAMPLE.aesKey,
    appKey: SAMPLE.appKey,
    msgSignature: createHash('sha1')
      .update([SAMPLE.token, timestamp, nonce, encrypt].sort().join(''))
      .digest('hex'),
    timestamp,
    nonce,
    encrypt,
    nowSeconds: NOW,
  };
}

describe('verifyDingtalkCallback', () => {
  it("verifies and decrypts DingTalk's reference check_url sample", () => {
    expect(verifyDingtalkCallback({ ...SAMPLE, nowSeconds: SAMPLE_NOW })).toMatchObject({
      ok: true,
      message: '{"EventType":"check_url"}',
    });
  });

  it('reads a millisecond timestamp as milliseconds when judging freshness', () => {
    expect(verifyDingtalkCallback({ ...SAMPLE, nowSeconds: SAMPLE_NOW + 299 }).ok).toBe(true);
    expect(verifyDingtalkCallback({ ...SAMPLE, nowSeconds: SAMPLE_NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('reads a second timestamp as seconds', () => {
    const request = signedCallback('{}', SAMPLE.appKey, String(Math.floor(NOW)));
    expect(verifyDingtalkCallback(request).ok).toBe(true);
    expect(verifyDingtalkCallback({ ...request, nowSeconds: NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a timestamp further in the future than the tolerance as STALE', () => {
    expect(verifyDingtalkCallback({ ...signedCallback('{}'), nowSeconds: NOW - 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('names an accepted callback for the replay guard', () => {
    const request = signedCallback('{"EventType":"user_add_org"}');
    expect(verifyDingtalkCallback(request)).toEqual({
      ok: true,
      message: '{"EventType":"user_add_org"}',
      replayKey: `dingtalk:${request.msgSignature}`,
      replayExpiresAt: new Date(NOW_MS + 300_000),
    });
  });

  it('refuses a sample addressed to another app as WRONG_RECEIVER', () => {
    expect(verifyDingtalkCallback({ ...SAMPLE, appKey: 'dingOTHER', nowSeconds: SAMPLE_NOW })).toEqual({
      ok: false,
      reason: 'WRONG_RECEIVER',
    });
  });

  it('refuses the sample with one character of ciphertext changed as BAD_SIGNATURE', () => {
    const tampered = `1${SAMPLE.encrypt.slice(1)}`;
    expect(verifyDingtalkCallback({ ...SAMPLE, encrypt: tampered, nowSeconds: SAMPLE_NOW })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses the sample under another token as BAD_SIGNATURE', () => {
    expect(verifyDingtalkCallback({ ...SAMPLE, token: 'other', nowSeconds: SAMPLE_NOW })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it.each([
    ['a missing signature', { msgSignature: undefined }],
    ['a non-numeric timestamp', { timestamp: 'yesterday' }],
    ['a missing nonce', { nonce: undefined }],
    ['non-base64 ciphertext', { encrypt: '%%%%' }],
    ['an aes_key of the wrong length', { aesKey: SAMPLE.aesKey.slice(1) }],
  ])('refuses %s as MALFORMED', (_, change) => {
    expect(verifyDingtalkCallback({ ...SAMPLE, nowSeconds: SAMPLE_NOW, ...change })).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });

  it('builds the encrypted success reply DingTalk expects, signed like a callback', () => {
    const reply = dingtalkEncryptedReply({ ...SAMPLE, timestamp: String(NOW_MS), nonce: 'reply-nonce' });
    expect(decryptWecom(SAMPLE.aesKey, reply.encrypt, SAMPLE.appKey)).toEqual({
      ok: true,
      message: 'success',
    });
    const check = verifyDingtalkCallback({
      ...SAMPLE,
      msgSignature: reply.msg_signature,
      timestamp: reply.timeStamp,
      nonce: reply.nonce,
      encrypt: reply.encrypt,
      nowSeconds: NOW,
    });
    expect(check).toMatchObject({ ok: true, message: 'success' });
  });

  it('property: arbitrary parameters never make the verifier throw or pass', () => {
    const field = fc.oneof(fc.string(), fc.constant(undefined), fc.base64String(), fc.nat().map(String));
    fc.assert(
      fc.property(field, field, field, field, fc.double(), (msgSignature, timestamp, nonce, encrypt, now) => {
        const result = verifyDingtalkCallback({
          ...SAMPLE,
          msgSignature,
          timestamp,
          nonce,
          encrypt,
          nowSeconds: now,
        });
        expect(result.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a signature over ciphertext E never verifies a different ciphertext E′', () => {
    fc.assert(
      fc.property(fc.json(), fc.base64String({ minLength: 4, maxLength: 200 }), (message, other) => {
        const request = signedCallback(message);
        expect(verifyDingtalkCallback(request)).toMatchObject({ ok: true, message });
        if (other !== request.encrypt)
          expect(verifyDingtalkCallback({ ...request, encrypt: other }).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

const APP_SECRET = 'dingAppSecret-0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

/** base64(HmacSHA256(appSecret, timestamp + "\n" + appSecret)), written out independently of the module. */
function independentSign(secret: string, timestamp: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(`${timestamp}\n${secret}`, 'utf8'))
    .digest('base64');
}

function robotRequest(timestamp = String(NOW_MS)) {
  return {
    appSecret: APP_SECRET,
    timestampHeader: timestamp,
    signHeader: independentSign(APP_SECRET, timestamp),
    nowSeconds: NOW,
  };
}

describe('verifyDingtalkRobotRequest', () => {
  it('accepts the documented sign and names it for the replay guard', () => {
    expect(dingtalkRobotSign(APP_SECRET, String(NOW_MS))).toBe(independentSign(APP_SECRET, String(NOW_MS)));
    const request = robotRequest();
    expect(verifyDingtalkRobotRequest(request)).toEqual({
      ok: true,
      replayKey: `dingtalk-robot:${request.signHeader}`,
      replayExpiresAt: new Date(NOW_MS + 3_600_000),
    });
  });

  it('accepts a timestamp up to one hour away, as documented, and refuses one beyond in either direction', () => {
    expect(verifyDingtalkRobotRequest({ ...robotRequest(), nowSeconds: NOW + 3600 }).ok).toBe(true);
    expect(verifyDingtalkRobotRequest({ ...robotRequest(), nowSeconds: NOW + 3601 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
    expect(verifyDingtalkRobotRequest({ ...robotRequest(), nowSeconds: NOW - 3601 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a sign made with another secret as BAD_SIGNATURE', () => {
    expect(verifyDingtalkRobotRequest({ ...robotRequest(), appSecret: `${APP_SECRET}x` })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a sign for a different timestamp as BAD_SIGNATURE', () => {
    const request = robotRequest();
    expect(verifyDingtalkRobotRequest({ ...request, timestampHeader: String(NOW_MS + 1) })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses everything when no app secret is configured', () => {
    const request = robotRequest();
    expect(
      verifyDingtalkRobotRequest({
        ...request,
        appSecret: '',
        signHeader: independentSign('', String(NOW_MS)),
      }),
    ).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it.each([
    ['a missing timestamp', { timestampHeader: undefined }],
    ['a non-numeric timestamp', { timestampHeader: 'now' }],
    ['a missing sign', { signHeader: undefined }],
    ['a URL-encoded sign', { signHeader: encodeURIComponent(independentSign(APP_SECRET, String(NOW_MS))) }],
    ['a sign of the wrong length', { signHeader: 'c2lnbg==' }],
    ['a repeated sign header', { signHeader: [independentSign(APP_SECRET, String(NOW_MS))] }],
  ])('refuses %s as MALFORMED', (_, change) => {
    expect(verifyDingtalkRobotRequest({ ...robotRequest(), ...change })).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });

  it('property: arbitrary headers never make the verifier throw or pass', () => {
    const header = fc.oneof(fc.string(), fc.constant(undefined), fc.nat().map(String), fc.array(fc.string()));
    fc.assert(
      fc.property(header, header, fc.double(), (timestampHeader, signHeader, now) => {
        const result = verifyDingtalkRobotRequest({
          appSecret: APP_SECRET,
          timestampHeader,
          signHeader,
          nowSeconds: now,
        });
        expect(result.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a sign for timestamp T never verifies a different timestamp T′', () => {
    const timestamp = fc.integer({ min: 1, max: 2 ** 45 }).map(String);
    fc.assert(
      fc.property(timestamp, timestamp, (t, other) => {
        const seconds = Number(t) >= 1e11 ? Number(t) / 1000 : Number(t);
        const signHeader = independentSign(APP_SECRET, t);
        const request = { appSecret: APP_SECRET, signHeader, nowSeconds: seconds };
        expect(verifyDingtalkRobotRequest({ ...request, timestampHeader: t }).ok).toBe(true);
        if (other !== t)
          expect(verifyDingtalkRobotRequest({ ...request, timestampHeader: other }).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

// The sample payload in open-dingtalk/dingtalk-stream-sdk-python dingtalk_stream/card_callback_message.py.
const SDK_CARD_CALLBACK = {
  extension: '{}',
  corpId: 'ding9f50b15bccd16741',
  spaceType: '',
  userIdType: 1,
  type: 'actionCallback',
  userId: '04574258341072934',
  content: '{"cardPrivateData":{"actionIds":["button_node_ocljnpbz4i4"],"params":{}}}',
  spaceId: '',
  outTrackId: '53d6dda444c74f5f17bf4534333c1a46f690b4ddadac8d7e80fc11c2e4a714cb',
  value: '{"cardPrivateData":{"actionIds":["button_node_ocljnpbz4i4"],"params":{}}}',
};

describe('parseDingtalkCardCallback', () => {
  it("decodes the Stream SDK's sample card callback", () => {
    expect(parseDingtalkCardCallback(SDK_CARD_CALLBACK)).toEqual({
      ok: true,
      callback: {
        outTrackId: '53d6dda444c74f5f17bf4534333c1a46f690b4ddadac8d7e80fc11c2e4a714cb',
        userId: '04574258341072934',
        corpId: 'ding9f50b15bccd16741',
        actionIds: ['button_node_ocljnpbz4i4'],
        actionId: 'button_node_ocljnpbz4i4',
        params: {},
      },
    });
  });

  it('reads params from content when value is absent, and accepts already-decoded objects', () => {
    const { value: _, ...contentOnly } = SDK_CARD_CALLBACK;
    const withParams = {
      ...contentOnly,
      content: '{"cardPrivateData":{"actionIds":["approve"],"params":{"matter":"42"}}}',
    };
    const fromContent = parseDingtalkCardCallback(withParams);
    expect(fromContent.ok && [fromContent.callback.actionId, fromContent.callback.params]).toEqual([
      'approve',
      { matter: '42' },
    ]);
    const decoded = parseDingtalkCardCallback({
      ...contentOnly,
      content: { cardPrivateData: { actionIds: ['reject'], params: { matter: '7' } } },
    });
    expect(decoded.ok && decoded.callback.params).toEqual({ matter: '7' });
  });

  it.each([
    ['no outTrackId', { ...SDK_CARD_CALLBACK, outTrackId: '' }],
    ['no userId', { ...SDK_CARD_CALLBACK, userId: undefined }],
    ['value that is not JSON', { ...SDK_CARD_CALLBACK, value: '{cardPrivateData' }],
    ['no cardPrivateData', { ...SDK_CARD_CALLBACK, value: '{"other":{}}' }],
    ['empty actionIds', { ...SDK_CARD_CALLBACK, value: '{"cardPrivateData":{"actionIds":[]}}' }],
    ['non-string actionIds', { ...SDK_CARD_CALLBACK, value: '{"cardPrivateData":{"actionIds":[1]}}' }],
    [
      'params that are not an object',
      { ...SDK_CARD_CALLBACK, value: '{"cardPrivateData":{"actionIds":["a"],"params":[1]}}' },
    ],
    ['an array body', [SDK_CARD_CALLBACK]],
  ])('refuses %s as MALFORMED', (_, body) => {
    expect(parseDingtalkCardCallback(body)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('property: arbitrary JSON never makes the parser throw', () => {
    const privateData = fc
      .jsonValue()
      .map((params) => JSON.stringify({ cardPrivateData: { actionIds: ['a'], params } }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          privateData.map((value) => ({ ...SDK_CARD_CALLBACK, value })),
        ),
        (body) => {
          expect(typeof parseDingtalkCardCallback(body).ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
