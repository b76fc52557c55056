import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decryptWecom,
  encryptWecom,
  extractXmlFields,
  parseWecomTemplateCardEvent,
  verifyWecomCallback,
  wecomSignature,
} from '../../src/security/inbound/wecom.js';

// Tencent's WXBizMsgCrypt Python sample, callback/Sample.py in https://github.com/sbzhu/weworkapi_python
// (the library linked from https://developer.work.weixin.qq.com/document/path/91144).
const SAMPLE = {
  token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo',
  encodingAesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt',
  corpId: 'ww1436e0e65a779aee',
};
const SAMPLE_VERIFY_URL = {
  msgSignature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
  timestamp: '1476416373',
  nonce: '47744683',
  encrypted: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
};
const SAMPLE_DECRYPT_MSG = {
  msgSignature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
  timestamp: '1476422779',
  nonce: '1597212914',
  postData:
    '<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>',
};

// The worked example of https://developer.work.weixin.qq.com/document/path/90968 (举例说明), also in the
// C# and PHP WXBizMsgCrypt samples.
const DOC = {
  token: 'QDG6eK',
  encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  corpId: 'wx5823bf96d3bd56c7',
};
const DOC_VERIFY_URL = {
  msgSignature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
  timestamp: '1409659589',
  nonce: '263014780',
  encrypted: decodeURIComponent(
    'P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D',
  ),
};
const DOC_POST = {
  msgSignature: '477715d11cdb4164915debcba66cb864d751f3e6',
  timestamp: '1409659813',
  nonce: '1372623149',
  encrypted:
    'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
};

const KEY = SAMPLE.encodingAesKey;
const NOW = 1_700_000_000;

function signed(message: string, receiveId = SAMPLE.corpId, timestamp = String(NOW), nonce = 'n0nce') {
  const encrypted = encryptWecom(KEY, message, receiveId);
  return {
    token: SAMPLE.token,
    encodingAesKey: KEY,
    corpId: SAMPLE.corpId,
    msgSignature: independentSignature(SAMPLE.token, timestamp, nonce, encrypted),
    timestamp,
    nonce,
    encrypted,
    nowSeconds: NOW,
  };
}

function independentSignature(...parts: string[]): string {
  return createHash('sha1').update(parts.sort().join('')).digest('hex');
}

/** Encrypts arbitrary plaintext bytes under the sample key with no padding of our own. */
function rawCiphertext(plain: Buffer): string {
  const key = Buffer.from(`${KEY}=`, 'base64');
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function framed(message: Buffer, receiveId: string, declaredLength = message.length): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength);
  return Buffer.concat([Buffer.alloc(16, 7), length, message, Buffer.from(receiveId)]);
}

function pkcs7(plain: Buffer, block = 32): Buffer {
  const pad = block - (plain.length % block);
  return Buffer.concat([plain, Buffer.alloc(pad, pad)]);
}

describe('WeCom vendor test vectors', () => {
  it('verifies and decrypts the VerifyURL sample echostr', () => {
    const result = verifyWecomCallback({
      ...SAMPLE,
      ...SAMPLE_VERIFY_URL,
      nowSeconds: Number(SAMPLE_VERIFY_URL.timestamp),
    });
    expect(result).toMatchObject({ ok: true, message: '1288432023552776189' });
  });

  it('verifies and decrypts the DecryptMsg sample POST after pulling Encrypt out of its XML', () => {
    const encrypted = extractXmlFields(SAMPLE_DECRYPT_MSG.postData)?.get('Encrypt');
    const result = verifyWecomCallback({
      ...SAMPLE,
      ...SAMPLE_DECRYPT_MSG,
      encrypted,
      nowSeconds: Number(SAMPLE_DECRYPT_MSG.timestamp),
    });
    if (!result.ok) throw new Error(`sample refused: ${result.reason}`);
    const fields = extractXmlFields(result.message);
    expect(fields?.get('FromUserName')).toBe('ChenJiaShun');
    expect(fields?.get('Content')).toBe('你好');
    expect(fields?.get('AgentID')).toBe('1000002');
  });

  it("computes the documented example's msg_signature", () => {
    const { token } = DOC;
    const { timestamp, nonce, encrypted } = DOC_VERIFY_URL;
    expect(wecomSignature(token, timestamp, nonce, encrypted)).toBe(DOC_VERIFY_URL.msgSignature);
    expect(wecomSignature(token, DOC_POST.timestamp, DOC_POST.nonce, DOC_POST.encrypted)).toBe(
      DOC_POST.msgSignature,
    );
  });

  it("verifies and decrypts the documented example's GET and POST", () => {
    const get = verifyWecomCallback({
      ...DOC,
      ...DOC_VERIFY_URL,
      nowSeconds: Number(DOC_VERIFY_URL.timestamp),
    });
    expect(get).toMatchObject({ ok: true, message: '1616140317555161061' });
    const post = verifyWecomCallback({ ...DOC, ...DOC_POST, nowSeconds: Number(DOC_POST.timestamp) });
    expect(post.ok && extractXmlFields(post.message)?.get('Content')).toBe('hello');
  });

  it('refuses a vendor sample addressed to another corp as WRONG_RECEIVER', () => {
    const result = verifyWecomCallback({
      ...SAMPLE,
      ...SAMPLE_VERIFY_URL,
      corpId: 'ww0000000000000000',
      nowSeconds: Number(SAMPLE_VERIFY_URL.timestamp),
    });
    expect(result).toEqual({ ok: false, reason: 'WRONG_RECEIVER' });
  });
});

describe('verifyWecomCallback refusals', () => {
  it('accepts a freshly signed callback and names it for the replay guard', () => {
    const request = signed('<xml/>');
    expect(verifyWecomCallback(request)).toEqual({
      ok: true,
      message: '<xml/>',
      replayKey: `wecom:${request.msgSignature}`,
      replayExpiresAt: new Date((NOW + 300) * 1000),
    });
  });

  it('refuses a timestamp older than the tolerance as STALE', () => {
    expect(verifyWecomCallback({ ...signed('m'), nowSeconds: NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a timestamp further in the future than the tolerance as STALE', () => {
    expect(verifyWecomCallback({ ...signed('m'), nowSeconds: NOW - 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a signature made with another token as BAD_SIGNATURE', () => {
    expect(verifyWecomCallback({ ...signed('m'), token: 'another-token' })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses every callback when the configured token is empty', () => {
    const request = signed('m');
    const unkeyed = independentSignature('', request.timestamp, request.nonce, request.encrypted);
    expect(verifyWecomCallback({ ...request, token: '', msgSignature: unkeyed })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses ciphertext with one character changed as BAD_SIGNATURE', () => {
    const request = signed('approve');
    const flipped = request.encrypted.startsWith('A')
      ? `B${request.encrypted.slice(1)}`
      : `A${request.encrypted.slice(1)}`;
    expect(verifyWecomCallback({ ...request, encrypted: flipped })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a nonce or timestamp swapped after signing as BAD_SIGNATURE', () => {
    expect(verifyWecomCallback({ ...signed('m'), nonce: 'other' })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
    expect(verifyWecomCallback({ ...signed('m'), timestamp: String(NOW + 1) })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a callback encrypted for another corp as WRONG_RECEIVER even when correctly signed', () => {
    expect(verifyWecomCallback(signed('m', 'ww-someone-else'))).toEqual({
      ok: false,
      reason: 'WRONG_RECEIVER',
    });
  });

  it.each([
    ['a missing signature', { msgSignature: undefined }],
    ['a signature of the wrong length', { msgSignature: 'abc123' }],
    ['a non-hex signature', { msgSignature: 'z'.repeat(40) }],
    ['a non-numeric timestamp', { timestamp: '17e8' }],
    ['a missing timestamp', { timestamp: undefined }],
    ['a missing nonce', { nonce: undefined }],
    ['an empty nonce', { nonce: '' }],
    ['non-base64 ciphertext', { encrypted: 'not base64!' }],
    ['URL-encoded ciphertext', { encrypted: 'P9nA%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4' }],
    ['empty ciphertext', { encrypted: '' }],
    ['an EncodingAESKey of the wrong length', { encodingAesKey: 'short' }],
    ['an EncodingAESKey with base64 punctuation', { encodingAesKey: `${'a'.repeat(42)}+` }],
  ])('refuses %s as MALFORMED', (_, change) => {
    expect(verifyWecomCallback({ ...signed('m'), ...change })).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('refuses correctly signed garbage ciphertext instead of decrypting it', () => {
    const request = signed('m');
    const encrypted = rawCiphertext(Buffer.alloc(64, 0xff));
    const msgSignature = independentSignature(SAMPLE.token, request.timestamp, request.nonce, encrypted);
    expect(verifyWecomCallback({ ...request, encrypted, msgSignature })).toEqual({
      ok: false,
      reason: 'BAD_CIPHERTEXT',
    });
  });
});

describe('decryptWecom', () => {
  it('round-trips what encryptWecom produced, including non-ASCII text and an empty message', () => {
    for (const message of ['', '审批通过 ✅', '<xml><EventKey><![CDATA[a]]></EventKey></xml>']) {
      expect(decryptWecom(KEY, encryptWecom(KEY, message, 'corp'), 'corp')).toEqual({ ok: true, message });
    }
  });

  it('pads to 32-byte blocks, so a plaintext of exactly 32 bytes gains a full block', () => {
    const fillsOneBlock = 'x'.repeat(32 - 16 - 4 - 'corp'.length);
    expect(Buffer.from(encryptWecom(KEY, fillsOneBlock, 'corp'), 'base64')).toHaveLength(64);
  });

  it('refuses ciphertext truncated by one AES block as BAD_CIPHERTEXT', () => {
    const full = Buffer.from(encryptWecom(KEY, 'a longer message that spans blocks', 'corp'), 'base64');
    const truncated = full.subarray(0, full.length - 16).toString('base64');
    expect(decryptWecom(KEY, truncated, 'corp')).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('refuses ciphertext that is not a whole number of AES blocks as BAD_CIPHERTEXT', () => {
    const full = Buffer.from(encryptWecom(KEY, 'message', 'corp'), 'base64');
    expect(decryptWecom(KEY, full.subarray(0, full.length - 1).toString('base64'), 'corp')).toEqual({
      ok: false,
      reason: 'BAD_CIPHERTEXT',
    });
  });

  it('refuses ciphertext shorter than one padding block as BAD_CIPHERTEXT', () => {
    expect(decryptWecom(KEY, Buffer.alloc(16).toString('base64'), 'corp')).toEqual({
      ok: false,
      reason: 'BAD_CIPHERTEXT',
    });
  });

  it.each([
    ['a zero pad byte', (p: Buffer) => Buffer.concat([p.subarray(0, -1), Buffer.from([0])])],
    [
      'a pad byte above the 32-byte block',
      (p: Buffer) => Buffer.concat([p.subarray(0, -1), Buffer.from([33])]),
    ],
    [
      'pad bytes that disagree',
      (p: Buffer) => Buffer.concat([p.subarray(0, -2), Buffer.from([1, p.at(-1) ?? 0])]),
    ],
  ])('refuses ill-padded plaintext (%s) as BAD_CIPHERTEXT', (_, corrupt) => {
    const plain = pkcs7(framed(Buffer.from('hello'), 'corp'));
    expect(plain.at(-1)).toBeGreaterThan(2);
    expect(decryptWecom(KEY, rawCiphertext(corrupt(plain)), 'corp')).toEqual({
      ok: false,
      reason: 'BAD_CIPHERTEXT',
    });
  });

  it('refuses a length field larger than what follows it as BAD_CIPHERTEXT', () => {
    for (const declared of [6, 1 << 20, 0xffffffff]) {
      const plain = pkcs7(framed(Buffer.from('hello'), '', declared));
      expect(decryptWecom(KEY, rawCiphertext(plain), '')).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
    }
  });

  it('refuses a message that is not UTF-8 as BAD_CIPHERTEXT', () => {
    const plain = pkcs7(framed(Buffer.from([0xc3, 0x28]), 'corp'));
    expect(decryptWecom(KEY, rawCiphertext(plain), 'corp')).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('refuses a receiveId that only extends the expected one as WRONG_RECEIVER', () => {
    expect(decryptWecom(KEY, encryptWecom(KEY, 'm', 'corp-evil'), 'corp')).toEqual({
      ok: false,
      reason: 'WRONG_RECEIVER',
    });
  });

  it('refuses non-base64 input as MALFORMED', () => {
    expect(decryptWecom(KEY, '@@@@', 'corp')).toEqual({ ok: false, reason: 'MALFORMED' });
    expect(decryptWecom(KEY, 'QUJD', 'corp')).toEqual({ ok: false, reason: 'BAD_CIPHERTEXT' });
  });

  it('property: any message and receiveId survive an encrypt/decrypt round trip', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (message, id) => {
          expect(decryptWecom(KEY, encryptWecom(KEY, message, id), id)).toEqual({ ok: true, message });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('extractXmlFields', () => {
  it('reads CDATA and plain fields of the root element', () => {
    const fields = extractXmlFields('<?xml version="1.0"?>\n<xml><A><![CDATA[x]]></A><B>42</B></xml>\n');
    expect(fields && Object.fromEntries(fields)).toEqual({ A: 'x', B: '42' });
  });

  it('keeps markup inside CDATA as text rather than reading fields out of it', () => {
    const xml =
      '<xml><Content><![CDATA[</Content><EventKey><![CDATA[forged]]]]><![CDATA[>]]></Content><EventKey><![CDATA[real]]></EventKey></xml>';
    const fields = extractXmlFields(xml);
    expect(fields?.get('EventKey')).toBe('real');
    expect(fields?.get('Content')).toBe('</Content><EventKey><![CDATA[forged]]>');
  });

  it('skips nested elements, returning only direct text', () => {
    const xml =
      '<xml><SelectedItems><SelectedItem><QuestionKey><![CDATA[q]]></QuestionKey></SelectedItem></SelectedItems><TaskId>t</TaskId></xml>';
    expect(extractXmlFields(xml)?.get('TaskId')).toBe('t');
  });

  it('returns entity references verbatim instead of expanding them', () => {
    expect(extractXmlFields('<xml><A>&amp;&lt;</A></xml>')?.get('A')).toBe('&amp;&lt;');
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE xml [<!ENTITY e "x">]><xml><A>&e;</A></xml>'],
    ['a comment', '<xml><!-- c --><A>1</A></xml>'],
    ['attributes', '<xml><A x="1">1</A></xml>'],
    ['a duplicated field', '<xml><A>1</A><A>2</A></xml>'],
    ['an unclosed CDATA section', '<xml><A><![CDATA[1</A></xml>'],
    ['a mismatched close tag', '<xml><A>1</B></xml>'],
    ['trailing content', '<xml><A>1</A></xml><xml/>'],
    ['text between fields', '<xml>junk<A>1</A></xml>'],
    ['nesting deeper than any WeCom packet', `<xml><A>${'<B>'.repeat(20)}${'</B>'.repeat(20)}</A></xml>`],
    ['no root', 'plain text'],
  ])('refuses %s', (_, xml) => {
    expect(extractXmlFields(xml)).toBeUndefined();
  });

  it('property: arbitrary text never makes the extractor throw', () => {
    const xmlish = fc
      .array(
        fc.constantFrom(
          '<xml>',
          '</xml>',
          '<A>',
          '</A>',
          '<![CDATA[',
          ']]>',
          '<',
          '>',
          'x',
          ' ',
          '&',
          '<!--',
        ),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), xmlish), (xml) => {
        const fields = extractXmlFields(xml);
        expect(fields === undefined || fields instanceof Map).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

// Field layout per https://developer.work.weixin.qq.com/document/path/90240 (模板卡片事件推送).
const TEMPLATE_CARD_EVENT = `<xml>
<ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>
<FromUserName><![CDATA[ChenJiaShun]]></FromUserName>
<CreateTime>1476422779</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[approve]]></EventKey>
<TaskId><![CDATA[matter-42-r1]]></TaskId>
<CardType><![CDATA[button_interaction]]></CardType>
<ResponseCode><![CDATA[REPLACE_CODE]]></ResponseCode>
<AgentID>1000002</AgentID>
</xml>`;

describe('parseWecomTemplateCardEvent', () => {
  it('decodes a button click on a template card', () => {
    expect(parseWecomTemplateCardEvent(TEMPLATE_CARD_EVENT)).toEqual({
      ok: true,
      event: {
        event: 'template_card_event',
        toUserName: 'ww1436e0e65a779aee',
        fromUserName: 'ChenJiaShun',
        eventKey: 'approve',
        taskId: 'matter-42-r1',
        cardType: 'button_interaction',
        responseCode: 'REPLACE_CODE',
        agentId: '1000002',
        createTime: 1476422779,
      },
    });
  });

  it('decodes the card event after a full encrypt, sign, verify round trip', () => {
    const result = verifyWecomCallback(signed(TEMPLATE_CARD_EVENT));
    const parsed = result.ok ? parseWecomTemplateCardEvent(result.message) : result;
    expect(parsed.ok && parsed.event.taskId).toBe('matter-42-r1');
  });

  it.each([
    ['a text message', TEMPLATE_CARD_EVENT.replace('[CDATA[event]]', '[CDATA[text]]')],
    ['another event', TEMPLATE_CARD_EVENT.replace('template_card_event', 'enter_agent')],
    ['a missing TaskId', TEMPLATE_CARD_EVENT.replace(/<TaskId>.*<\/TaskId>/, '')],
    ['an empty EventKey', TEMPLATE_CARD_EVENT.replace('[CDATA[approve]]', '[CDATA[]]')],
    ['broken XML', TEMPLATE_CARD_EVENT.slice(0, -3)],
  ])('refuses %s as MALFORMED', (_, xml) => {
    expect(parseWecomTemplateCardEvent(xml)).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});

describe('WeCom properties', () => {
  it('property: arbitrary query parameters and ciphertexts never make the verifier throw or pass', () => {
    const field = fc.oneof(fc.string(), fc.constant(undefined), fc.base64String(), fc.integer());
    fc.assert(
      fc.property(
        field,
        field,
        field,
        field,
        fc.integer(),
        (msgSignature, timestamp, nonce, encrypted, now) => {
          const result = verifyWecomCallback({
            ...SAMPLE,
            msgSignature,
            timestamp,
            nonce,
            encrypted,
            nowSeconds: now,
          });
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: arbitrary base64 never makes decryption throw', () => {
    fc.assert(
      fc.property(fc.base64String({ maxLength: 400 }), fc.string(), (encrypted, receiveId) => {
        const result = decryptWecom(KEY, encrypted, receiveId);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('property: a signature over ciphertext E never verifies a different ciphertext E′', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.base64String({ minLength: 4, maxLength: 200 }),
        (message, other) => {
          const request = signed(message);
          expect(verifyWecomCallback(request).ok).toBe(true);
          if (other !== request.encrypted)
            expect(verifyWecomCallback({ ...request, encrypted: other }).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: arbitrary text never makes the card parser throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constant(TEMPLATE_CARD_EVENT)), (xml) => {
        expect(typeof parseWecomTemplateCardEvent(xml).ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
