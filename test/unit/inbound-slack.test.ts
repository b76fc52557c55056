import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryReplayGuard } from '../../src/security/inbound/replay.js';
import { parseSlackInteraction, verifySlackRequest } from '../../src/security/inbound/slack.js';

// Slack's worked example in https://api.slack.com/authentication/verifying-requests-from-slack
// (quoted verbatim by slack-verify's README, https://hackage.haskell.org/package/slack-verify-0.1.0.0/src/README.md).
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW = Number(DOC_TIMESTAMP);

const docRequest = {
  signingSecret: DOC_SECRET,
  timestampHeader: DOC_TIMESTAMP,
  signatureHeader: DOC_SIGNATURE,
  rawBody: DOC_BODY,
  nowSeconds: DOC_NOW,
};

function sign(secret: string, timestamp: string, body: string | Uint8Array): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

describe('verifySlackRequest', () => {
  it("accepts Slack's documented example request", () => {
    expect(verifySlackRequest(docRequest)).toMatchObject({ ok: true, timestamp: DOC_NOW });
  });

  it('accepts the same bytes given as a Buffer', () => {
    expect(verifySlackRequest({ ...docRequest, rawBody: Buffer.from(DOC_BODY) }).ok).toBe(true);
  });

  it('accepts an upper-case hex signature, since hex case carries no meaning', () => {
    const upper = `v0=${DOC_SIGNATURE.slice(3).toUpperCase()}`;
    expect(verifySlackRequest({ ...docRequest, signatureHeader: upper }).ok).toBe(true);
  });

  it('refuses the documented body with one byte changed as BAD_SIGNATURE', () => {
    const tampered = DOC_BODY.replace('user_id=U2CERLKJA', 'user_id=U2CERLKJB');
    expect(verifySlackRequest({ ...docRequest, rawBody: tampered })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a signature made with another secret as BAD_SIGNATURE', () => {
    const forged = sign('another-secret', DOC_TIMESTAMP, DOC_BODY);
    expect(verifySlackRequest({ ...docRequest, signatureHeader: forged })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses everything when the configured secret is empty, even a matching empty-key HMAC', () => {
    const emptyKeyed = sign('', DOC_TIMESTAMP, DOC_BODY);
    expect(verifySlackRequest({ ...docRequest, signingSecret: '', signatureHeader: emptyKeyed })).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a timestamp older than the tolerance as STALE', () => {
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('refuses a timestamp further in the future than the tolerance as STALE', () => {
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW - 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('accepts a timestamp exactly at the tolerance on either side', () => {
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW + 300 }).ok).toBe(true);
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW - 300 }).ok).toBe(true);
  });

  it('honours a custom tolerance', () => {
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW + 60, toleranceSeconds: 30 }).ok).toBe(
      false,
    );
    expect(verifySlackRequest({ ...docRequest, nowSeconds: DOC_NOW + 60, toleranceSeconds: 60 }).ok).toBe(
      true,
    );
  });

  it.each([
    ['a missing timestamp', { timestampHeader: undefined }],
    ['a non-numeric timestamp', { timestampHeader: '1531420618a' }],
    ['a negative timestamp', { timestampHeader: '-1531420618' }],
    ['a repeated timestamp header', { timestampHeader: [DOC_TIMESTAMP, DOC_TIMESTAMP] }],
    ['a missing signature', { signatureHeader: undefined }],
    ['a signature without the v0= prefix', { signatureHeader: DOC_SIGNATURE.slice(3) }],
    ['a signature of another version', { signatureHeader: `v1=${DOC_SIGNATURE.slice(3)}` }],
    ['a truncated signature', { signatureHeader: DOC_SIGNATURE.slice(0, -1) }],
    ['a signature with trailing bytes', { signatureHeader: `${DOC_SIGNATURE}0` }],
    ['a non-hex signature', { signatureHeader: `v0=${'z'.repeat(64)}` }],
    ['a repeated signature header', { signatureHeader: [DOC_SIGNATURE] }],
  ])('refuses %s as MALFORMED', (_, change) => {
    expect(verifySlackRequest({ ...docRequest, ...change })).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('hands back a replay key that the guard admits only once until the window closes', async () => {
    const verified = verifySlackRequest(docRequest);
    if (!verified.ok) throw new Error('the documented example must verify');
    expect(verified.replayExpiresAt).toEqual(new Date((DOC_NOW + 300) * 1000));
    let now = new Date(DOC_NOW * 1000);
    const guard = new InMemoryReplayGuard(() => now);
    expect(await guard.firstSeen(verified.replayKey, verified.replayExpiresAt)).toBe(true);
    expect(await guard.firstSeen(verified.replayKey, verified.replayExpiresAt)).toBe(false);
    now = new Date((DOC_NOW + 301) * 1000);
    expect(await guard.firstSeen(verified.replayKey, verified.replayExpiresAt)).toBe(true);
  });

  it('property: arbitrary headers and bodies never make the verifier throw, and never verify by chance', () => {
    const header = fc.oneof(fc.string(), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }));
    const body = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.uint8Array().map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(
        fc.string(),
        header,
        header,
        body,
        fc.integer(),
        (secret, timestamp, signature, rawBody, now) => {
          const result = verifySlackRequest({
            signingSecret: secret,
            timestampHeader: timestamp,
            signatureHeader: signature,
            rawBody,
            nowSeconds: now,
          });
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a valid signature over body B never verifies a different body B′', () => {
    const body = fc.oneof(
      fc.string({ unit: 'grapheme' }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        body,
        body,
        (secret, ts, b, other) => {
          const timestamp = String(ts);
          const signed = {
            signingSecret: secret,
            timestampHeader: timestamp,
            signatureHeader: sign(secret, timestamp, b),
          };
          expect(verifySlackRequest({ ...signed, rawBody: b, nowSeconds: ts }).ok).toBe(true);
          if (!b.equals(other))
            expect(verifySlackRequest({ ...signed, rawBody: other, nowSeconds: ts }).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// Field layout per https://api.slack.com/reference/interaction-payloads/block-actions
const blockActions = {
  type: 'block_actions',
  user: { id: 'U2CERLKJA', username: 'roadrunner', team_id: 'T1DC2JH3J' },
  api_app_id: 'A0KRD7HC3',
  token: 'Shh_its_a_seekrit',
  container: {
    type: 'message',
    message_ts: '1548261231.000200',
    channel_id: 'C0B4D2B4A',
    is_ephemeral: false,
  },
  trigger_id: '12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3',
  team: { id: 'T1DC2JH3J', domain: 'testteamnow' },
  channel: { id: 'C0B4D2B4A', name: 'review-updates' },
  message: { type: 'message', ts: '1548261231.000200', text: 'A matter needs you' },
  response_url: 'https://hooks.slack.com/actions/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
  actions: [
    {
      action_id: 'approve',
      block_id: 'matter-42',
      text: { type: 'plain_text', text: 'Approve', emoji: true },
      value: 'mf1.matter-42.approve',
      type: 'button',
      action_ts: '1548426417.840180',
    },
  ],
};

function formEncoded(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

describe('parseSlackInteraction', () => {
  it('decodes a block_actions button click into the fields a route needs', () => {
    expect(parseSlackInteraction(formEncoded(blockActions))).toEqual({
      ok: true,
      interaction: {
        userId: 'U2CERLKJA',
        actionId: 'approve',
        value: 'mf1.matter-42.approve',
        responseUrl: 'https://hooks.slack.com/actions/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
        messageTs: '1548261231.000200',
        channelId: 'C0B4D2B4A',
      },
    });
  });

  it('decodes the same body given as a Buffer', () => {
    expect(parseSlackInteraction(Buffer.from(formEncoded(blockActions))).ok).toBe(true);
  });

  it("takes a select menu's chosen option as the value", () => {
    const select = {
      ...blockActions,
      actions: [{ action_id: 'reassign', type: 'static_select', selected_option: { value: 'user-7' } }],
    };
    const parsed = parseSlackInteraction(formEncoded(select));
    expect(parsed.ok && parsed.interaction.value).toBe('user-7');
  });

  it('falls back to message.ts and channel.id when the container lacks them', () => {
    const { container: _, ...withoutContainer } = blockActions;
    const parsed = parseSlackInteraction(formEncoded(withoutContainer));
    expect(parsed.ok && [parsed.interaction.messageTs, parsed.interaction.channelId]).toEqual([
      '1548261231.000200',
      'C0B4D2B4A',
    ]);
  });

  it.each([
    ['a body without a payload field', 'token=x&team_id=T1'],
    ['a payload that is not JSON', 'payload=%7Bnot-json'],
    ['a payload that is a JSON array', formEncoded([blockActions])],
    ['another interaction type', formEncoded({ ...blockActions, type: 'view_submission' })],
    ['no actions', formEncoded({ ...blockActions, actions: [] })],
    ['an action without action_id', formEncoded({ ...blockActions, actions: [{ value: 'x' }] })],
    ['no user', formEncoded({ ...blockActions, user: undefined })],
    [
      'a response_url that is not https',
      formEncoded({ ...blockActions, response_url: 'http://hooks.slack.com/x' }),
    ],
    ['a response_url that is not a URL', formEncoded({ ...blockActions, response_url: 'hooks' })],
  ])('refuses %s as MALFORMED', (_, body) => {
    expect(parseSlackInteraction(body)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('property: arbitrary bodies never make the parser throw', () => {
    const json = fc.json().map((j) => formEncoded(JSON.parse(j)));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          json,
          fc.uint8Array().map((b) => Buffer.from(b)),
        ),
        (body) => {
          const parsed = parseSlackInteraction(body);
          expect(typeof parsed.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
