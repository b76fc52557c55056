import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkFeishuVerificationToken,
  decryptFeishu,
  encryptFeishu,
  feishuSignature,
  parseFeishuCardAction,
  verifyFeishuLegacyCardSignature,
  verifyFeishuSignature,
} from '../../src/security/inbound/feishu.js';

// The decryption example of https://open.feishu.cn/document/ukTMukTMukTM/uYDNxYjL2QTM24iN0EjN/event-subscription-configure-/encrypt-key-encryption-configuration-case
// (the same pair appears in Feishu's PHP/Java/Go/Python decrypt samples).
const DOC_ENCRYPT_KEY = 'test key';
const DOC_ENCRYPT = 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=';
const DOC_PLAINTEXT = 'hello world';

const ENCRYPT_KEY = 'kD2xQ8encrypt-key';
const VERIFICATION_TOKEN = 'v3rificationT0ken';
const NOW = 1_700_000_000;

/** sha256(timestamp + nonce + encrypt_key + body), written out independently of the module. */
function independentSignature(
  timestamp: string,
  nonce: string,
  key: string,
  body: string | Uint8Array,
): string {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(timestamp + nonce + key, 'utf8'), Buffer.from(body)]))
    .digest('hex');
}

function signedRequest(rawBody: string, timestamp = String(NOW), nonce = '1630000000-nonce') {
  return {
    timestamp,
    nonce,
    encryptKey: ENCRYPT_KEY,
    rawBody,
    signature: independentSignature(timestamp, nonce, ENCRYPT_KEY, rawBody),
    nowSeconds: NOW,
  };
}

describe('decryptFeishu', () => {
  it("decrypts Feishu's documented example to 'hello world'", () => {
    expect(decryptFeishu(DOC_ENCRYPT_KEY, DOC_ENCRYPT)).toEqual({ ok: true, plaintext: DOC_PLAINTEXT });
  });

  it('round-trips what encryptFeishu produced', () => {
    const body = JSON.stringify({ schema: '2.0', header: { token: VERIFICATION_TOKEN }, text: '审批 ✅' });
    expect(decryptFeishu(ENCRYPT_KEY, encryptFeishu(ENCRYPT_KEY, body))).toEqual({
      ok: true,
      plaintext: body,
    });
  });

  it('refuses the documented ciphertext under another key as BAD_CIPHERTEXT', () => {
    // A wrong key almost always breaks the PKCS#7 padding; this pair is known to.
    expect(decryptFeishu('other key', DOC_ENCRYPT)).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('refuses ciphertext truncated to a bare IV as BAD_CIPHERTEXT', () => {
    const ivOnly = Buffer.from(DOC_ENCRYPT, 'base64').subarray(0, 16).toString('base64');
    expect(decryptFeishu(DOC_ENCRYPT_KEY, ivOnly)).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('refuses ciphertext that is not a whole number of blocks as BAD_CIPHERTEXT', () => {
    const raw = Buffer.from(encryptFeishu(ENCRYPT_KEY, 'a message over one block long'), 'base64');
    expect(decryptFeishu(ENCRYPT_KEY, raw.subarray(0, raw.length - 1).toString('base64'))).toEqual({
      ok: false,
      reason: 'BAD_CIPHERTEXT',
    });
  });

  it('refuses ill-padded plaintext as BAD_CIPHERTEXT', () => {
    const key = createHash('sha256').update(ENCRYPT_KEY).digest();
    const iv = Buffer.alloc(16, 1);
    const cipher = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    const block = Buffer.concat([Buffer.from('hello world'), Buffer.from([5, 5, 5, 4, 5])]);
    const encrypt = Buffer.concat([iv, cipher.update(block), cipher.final()]).toString('base64');
    expect(decryptFeishu(ENCRYPT_KEY, encrypt)).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('refuses plaintext that is not UTF-8 as BAD_CIPHERTEXT', () => {
    const key = createHash('sha256').update(ENCRYPT_KEY).digest();
    const iv = Buffer.alloc(16, 2);
    const cipher = createCipheriv('aes-256-cbc', key, iv);
    const encrypt = Buffer.concat([iv, cipher.update(Buffer.from([0xff, 0xfe])), cipher.final()]).toString(
      'base64',
    );
    expect(decryptFeishu(ENCRYPT_KEY, encrypt)).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it.each([
    ['non-base64 text', 'not base64 at all'],
    ['base64url text', DOC_ENCRYPT.replace('+', '-').replace('/', '_')],
    ['an empty string', ''],
  ])('refuses %s as MALFORMED', (_, encrypt) => {
    expect(decryptFeishu(DOC_ENCRYPT_KEY, encrypt)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('refuses to decrypt without an encrypt key', () => {
    expect(decryptFeishu('', DOC_ENCRYPT)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('property: arbitrary input never makes decryption throw', () => {
    fc.assert(
      fc.property(fc.string(), fc.oneof(fc.string(), fc.base64String({ maxLength: 200 })), (key, encrypt) => {
        expect(typeof decryptFeishu(key, encrypt).ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('property: any text survives an encrypt/decrypt round trip', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ unit: 'grapheme' }), (key, text) => {
        expect(decryptFeishu(key, encryptFeishu(key, text))).toEqual({ ok: true, plaintext: text });
      }),
      { numRuns: 500 },
    );
  });
});

describe('verifyFeishuSignature', () => {
  const body = JSON.stringify({ encrypt: DOC_ENCRYPT });

  it('accepts a body signed as the doc describes and names it for the replay guard', () => {
    const request = signedRequest(body);
    expect(feishuSignature(request.timestamp, request.nonce, ENCRYPT_KEY, body)).toBe(request.signature);
    expect(verifyFeishuSignature(request)).toEqual({
      ok: true,
      replayKey: `feishu:${request.signature}`,
      replayExpiresAt: new Date((NOW + 300) * 1000),
    });
  });

  it('accepts the same bytes given as a Buffer', () => {
    expect(verifyFeishuSignature({ ...signedRequest(body), rawBody: Buffer.from(body) }).ok).toBe(true);
  });

  it('refuses the body with one byte changed as BAD_SIGNATURE', () => {
    const request = signedRequest(body);
    expect(verifyFeishuSignature({ ...request, rawBody: body.replace('P37w', 'P37x') })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a signature made with another encrypt key as BAD_SIGNATURE', () => {
    expect(verifyFeishuSignature({ ...signedRequest(body), encryptKey: 'another' })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses everything when no encrypt key is configured', () => {
    const request = signedRequest(body);
    const unkeyed = independentSignature(request.timestamp, request.nonce, '', body);
    expect(verifyFeishuSignature({ ...request, encryptKey: '', signature: unkeyed })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a timestamp older than the tolerance as STALE', () => {
    expect(verifyFeishuSignature({ ...signedRequest(body), nowSeconds: NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a timestamp further in the future than the tolerance as STALE', () => {
    expect(verifyFeishuSignature({ ...signedRequest(body), nowSeconds: NOW - 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it.each([
    ['a missing timestamp', { timestamp: undefined }],
    ['a millisecond-looking timestamp with a dot', { timestamp: '1700000000.5' }],
    ['a missing nonce', { nonce: undefined }],
    ['a repeated nonce header', { nonce: ['a', 'b'] }],
    ['a missing signature', { signature: undefined }],
    ['a sha1-length signature', { signature: 'a'.repeat(40) }],
    ['a non-hex signature', { signature: 'g'.repeat(64) }],
  ])('refuses %s as MALFORMED', (_, change) => {
    expect(verifyFeishuSignature({ ...signedRequest(body), ...change })).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });

  it('property: arbitrary headers and bodies never make the verifier throw or pass', () => {
    const header = fc.oneof(fc.string(), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }));
    fc.assert(
      fc.property(
        header,
        header,
        header,
        fc.string(),
        fc.integer(),
        (timestamp, nonce, signature, rawBody, now) => {
          const result = verifyFeishuSignature({
            timestamp,
            nonce,
            signature,
            rawBody,
            encryptKey: ENCRYPT_KEY,
            nowSeconds: now,
          });
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a valid signature over body B never verifies a different body B′', () => {
    const bytes = fc.oneof(
      fc.string({ unit: 'grapheme' }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(bytes, bytes, fc.string({ minLength: 1, maxLength: 32 }), (b, other, nonce) => {
        const signature = independentSignature(String(NOW), nonce, ENCRYPT_KEY, b);
        const request = {
          timestamp: String(NOW),
          nonce,
          encryptKey: ENCRYPT_KEY,
          signature,
          nowSeconds: NOW,
        };
        expect(verifyFeishuSignature({ ...request, rawBody: b }).ok).toBe(true);
        if (!b.equals(other)) expect(verifyFeishuSignature({ ...request, rawBody: other }).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('verifyFeishuLegacyCardSignature', () => {
  const body = JSON.stringify({ open_id: 'ou_1', action: { value: { k: 'v' }, tag: 'button' } });
  const legacySignature = (timestamp: string, nonce: string, token: string, raw: string) =>
    createHash('sha1').update(`${timestamp}${nonce}${token}${raw}`).digest('hex');
  const request = {
    timestamp: String(NOW),
    nonce: 'legacy-nonce',
    verificationToken: VERIFICATION_TOKEN,
    rawBody: body,
    signature: legacySignature(String(NOW), 'legacy-nonce', VERIFICATION_TOKEN, body),
    nowSeconds: NOW,
  };

  it('accepts sha1(timestamp + nonce + verification token + body)', () => {
    expect(verifyFeishuLegacyCardSignature(request)).toMatchObject({ ok: true });
  });

  it('refuses the body with one byte changed as BAD_SIGNATURE', () => {
    expect(verifyFeishuLegacyCardSignature({ ...request, rawBody: body.replace('ou_1', 'ou_2') })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a stale timestamp as STALE and a sha256-length signature as MALFORMED', () => {
    expect(verifyFeishuLegacyCardSignature({ ...request, nowSeconds: NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
    expect(verifyFeishuLegacyCardSignature({ ...request, signature: 'a'.repeat(64) })).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });
});

describe('checkFeishuVerificationToken', () => {
  it('accepts a schema 2.0 payload whose header.token matches', () => {
    expect(
      checkFeishuVerificationToken(
        { schema: '2.0', header: { token: VERIFICATION_TOKEN } },
        VERIFICATION_TOKEN,
      ),
    ).toEqual({ ok: true, kind: 'event' });
  });

  it('accepts a v1 event whose top-level token matches', () => {
    const v1 = { uuid: 'u', token: VERIFICATION_TOKEN, ts: '1', type: 'event_callback', event: {} };
    expect(checkFeishuVerificationToken(v1, VERIFICATION_TOKEN)).toEqual({ ok: true, kind: 'event' });
  });

  it('hands back the challenge of a url_verification handshake', () => {
    const handshake = { challenge: 'ajls384kdjx98XX', token: VERIFICATION_TOKEN, type: 'url_verification' };
    expect(checkFeishuVerificationToken(handshake, VERIFICATION_TOKEN)).toEqual({
      ok: true,
      kind: 'url_verification',
      challenge: 'ajls384kdjx98XX',
    });
  });

  it('refuses a mismatched token as BAD_TOKEN', () => {
    expect(
      checkFeishuVerificationToken({ schema: '2.0', header: { token: 'nope' } }, VERIFICATION_TOKEN),
    ).toEqual({
      ok: false,
      reason: 'BAD_TOKEN',
    });
    expect(
      checkFeishuVerificationToken(
        { type: 'event_callback', token: `${VERIFICATION_TOKEN}x` },
        VERIFICATION_TOKEN,
      ),
    ).toEqual({ ok: false, reason: 'BAD_TOKEN' });
  });

  it('refuses everything when no verification token is configured', () => {
    expect(checkFeishuVerificationToken({ schema: '2.0', header: { token: '' } }, '')).toEqual({
      ok: false,
      reason: 'BAD_TOKEN',
    });
  });

  it('does not mistake the card-update token of an old card callback for a verification token', () => {
    const legacy = { open_id: 'ou_1', token: VERIFICATION_TOKEN, action: { value: {} } };
    expect(checkFeishuVerificationToken(legacy, VERIFICATION_TOKEN)).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });

  it.each([
    ['null', null],
    ['an array', [{ token: VERIFICATION_TOKEN }]],
    ['a 2.0 payload without header', { schema: '2.0' }],
    ['a numeric token', { schema: '2.0', header: { token: 42 } }],
    ['a handshake without challenge', { type: 'url_verification', token: VERIFICATION_TOKEN }],
  ])('refuses %s as MALFORMED', (_, payload) => {
    expect(checkFeishuVerificationToken(payload, VERIFICATION_TOKEN)).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
  });

  it('property: arbitrary JSON never makes the check throw or pass without the token', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (payload) => {
        expect(checkFeishuVerificationToken(payload, VERIFICATION_TOKEN).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

// Field layout per https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/card-callback-communication
const V2_CARD_ACTION = {
  schema: '2.0',
  header: {
    event_id: 'f7984f25108f8137722bb63cee927e66',
    token: VERIFICATION_TOKEN,
    create_time: '1603977298000000',
    event_type: 'card.action.trigger',
    tenant_key: '2df73991750xxxx',
    app_id: 'cli_a5fb0ae6a4xxxx',
  },
  event: {
    operator: {
      tenant_key: '2df73991750xxxx',
      user_id: '867xxxx',
      open_id: 'ou_3c14f3a59eaf2825dbe25359f15xxxx',
    },
    token: 'c-295ee57216a5dc9de90fefd0aadb4b1d7d3xxxx',
    action: { value: { matter: '42', act: 'approve' }, tag: 'button' },
    host: 'im_message',
    context: {
      open_message_id: 'om_574d639e4a44e4dd646eaf628e2xxxx',
      open_chat_id: 'oc_e4d2605ca917e695f54f11aaf56xxxx',
    },
  },
};

// Field layout per https://open.larksuite.com/document/ukTMukTMukTM/uYzM3QjL2MzN04iNzcDN/configuring-card-callbacks/card-callback-structure
const LEGACY_CARD_ACTION = {
  open_id: 'ou_sdfimx9948345',
  user_id: 'eu_sd923r0sdf5',
  open_message_id: 'om_abcdefg1234567890',
  open_chat_id: 'oc_abcdefg1234567890',
  tenant_key: 'd32004232',
  token: 'c-1234567890',
  action: { value: 'approve:42', tag: 'button' },
};

describe('parseFeishuCardAction', () => {
  it('decodes a schema 2.0 card.action.trigger callback', () => {
    expect(parseFeishuCardAction(V2_CARD_ACTION)).toEqual({
      ok: true,
      action: {
        shape: 'v2',
        openId: 'ou_3c14f3a59eaf2825dbe25359f15xxxx',
        userId: '867xxxx',
        value: { matter: '42', act: 'approve' },
        tag: 'button',
        messageId: 'om_574d639e4a44e4dd646eaf628e2xxxx',
        chatId: 'oc_e4d2605ca917e695f54f11aaf56xxxx',
        token: 'c-295ee57216a5dc9de90fefd0aadb4b1d7d3xxxx',
        eventId: 'f7984f25108f8137722bb63cee927e66',
      },
    });
  });

  it('decodes the old card callback shape with a string value', () => {
    expect(parseFeishuCardAction(LEGACY_CARD_ACTION)).toEqual({
      ok: true,
      action: {
        shape: 'legacy',
        openId: 'ou_sdfimx9948345',
        userId: 'eu_sd923r0sdf5',
        value: 'approve:42',
        tag: 'button',
        messageId: 'om_abcdefg1234567890',
        chatId: 'oc_abcdefg1234567890',
        token: 'c-1234567890',
        eventId: null,
      },
    });
  });

  it('decodes a card action that arrived encrypted, after signature and token checks', () => {
    const rawBody = JSON.stringify({ encrypt: encryptFeishu(ENCRYPT_KEY, JSON.stringify(V2_CARD_ACTION)) });
    expect(verifyFeishuSignature(signedRequest(rawBody)).ok).toBe(true);
    const decrypted = decryptFeishu(ENCRYPT_KEY, JSON.parse(rawBody).encrypt);
    if (!decrypted.ok) throw new Error(decrypted.reason);
    const payload: unknown = JSON.parse(decrypted.plaintext);
    expect(checkFeishuVerificationToken(payload, VERIFICATION_TOKEN).ok).toBe(true);
    const parsed = parseFeishuCardAction(payload);
    expect(parsed.ok && parsed.action.value).toEqual({ matter: '42', act: 'approve' });
  });

  it.each([
    [
      'another 2.0 event type',
      { ...V2_CARD_ACTION, header: { ...V2_CARD_ACTION.header, event_type: 'im.message.receive_v1' } },
    ],
    [
      'a 2.0 callback without operator',
      { ...V2_CARD_ACTION, event: { ...V2_CARD_ACTION.event, operator: undefined } },
    ],
    [
      'a 2.0 callback without action',
      { ...V2_CARD_ACTION, event: { ...V2_CARD_ACTION.event, action: undefined } },
    ],
    ['a numeric value', { ...LEGACY_CARD_ACTION, action: { value: 42 } }],
    ['a legacy callback without open_id', { ...LEGACY_CARD_ACTION, open_id: '' }],
    ['a url_verification handshake', { type: 'url_verification', challenge: 'x', token: 't' }],
    ['a string', 'card'],
  ])('refuses %s as MALFORMED', (_, body) => {
    expect(parseFeishuCardAction(body)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('property: arbitrary JSON never makes the parser throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.constant(V2_CARD_ACTION), fc.constant(LEGACY_CARD_ACTION)),
        (body) => {
          expect(typeof parseFeishuCardAction(body).ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
