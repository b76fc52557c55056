import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signCallback, verifyCallback } from '../../src/callbacks/signature.js';

const secret = 's3cret-for-callbacks';

describe('callback signatures', () => {
  it('verify for the exact timestamp and body they were made for', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), (body, ts) => {
        const signature = signCallback(secret, ts, body);
        expect(verifyCallback(secret, { timestamp: String(ts), signature }, body, ts + 10)).toEqual({
          ok: true,
        });
      }),
    );
  });

  it('refuse a changed body, another secret, or a timestamp moved to dodge the window', () => {
    const ts = 1_800_000_000;
    const signature = signCallback(secret, ts, '{"a":1}');
    expect(verifyCallback(secret, { timestamp: String(ts), signature }, '{"a":2}', ts)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyCallback('other', { timestamp: String(ts), signature }, '{"a":1}', ts).ok).toBe(false);
    expect(verifyCallback(secret, { timestamp: String(ts + 1000), signature }, '{"a":1}', ts + 1000)).toEqual(
      {
        ok: false,
        reason: 'mismatch',
      },
    );
  });

  it('refuse a callback older or newer than the replay window, and one without headers', () => {
    const ts = 1_800_000_000;
    const signature = signCallback(secret, ts, 'x');
    expect(verifyCallback(secret, { timestamp: String(ts), signature }, 'x', ts + 301)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyCallback(secret, { timestamp: String(ts), signature }, 'x', ts - 301).ok).toBe(false);
    expect(verifyCallback(secret, { timestamp: undefined, signature }, 'x', ts)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(verifyCallback(secret, { timestamp: 'soon', signature }, 'x', ts).ok).toBe(false);
  });

  it('accept any one matching signature of several, as sent while a secret is rotated', () => {
    const ts = 1_800_000_000;
    const both = `${signCallback('old-secret', ts, 'x')}, ${signCallback(secret, ts, 'x')}`;
    expect(verifyCallback(secret, { timestamp: String(ts), signature: both }, 'x', ts).ok).toBe(true);
  });
});
