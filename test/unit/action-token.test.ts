import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinkAction } from '../../src/activities/contracts.js';
import {
  type ActionClaims,
  ActionTokenError,
  deriveNonce,
  signActionToken,
  type TokenProblem,
  verifyActionToken,
} from '../../src/security/action-token.js';

const SECRET = 'link-secret-0123456789-abcdefghij-klmnop';
const OTHER_SECRET = 'another-secret-0123456789-abcdefghij-kl';
const NOW_MS = Date.parse('2025-06-01T12:00:00.000Z');
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const claims: ActionClaims = {
  matterId: 'mat_01HX',
  handlerId: 'alice',
  action: 'complete',
  expiresAt: Math.floor(NOW_MS / 1000) + 3600,
  nonce: deriveNonce(SECRET, 'notif-1', 'complete'),
};

function problemOf(fn: () => unknown): TokenProblem {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ActionTokenError);
    return (err as ActionTokenError).problem;
  }
  throw new Error('expected an ActionTokenError, but the token verified');
}

function verifies(secret: string, token: string, nowMs: number): boolean {
  try {
    verifyActionToken(secret, token, nowMs);
    return true;
  } catch (err) {
    if (!(err instanceof ActionTokenError)) throw err;
    return false;
  }
}

function encodePayload(c: ActionClaims): string {
  return Buffer.from(JSON.stringify([c.matterId, c.handlerId, c.action, c.expiresAt, c.nonce])).toString(
    'base64url',
  );
}

describe('signActionToken / verifyActionToken', () => {
  it('when a signed token is verified with the same secret before expiry, then the claims come back unchanged', () => {
    const token = signActionToken(SECRET, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyActionToken(SECRET, token, NOW_MS)).toEqual(claims);
  });

  it('when the same claims are signed twice, then the token is identical (deterministic)', () => {
    expect(signActionToken(SECRET, claims)).toBe(signActionToken(SECRET, { ...claims }));
  });

  it.each<LinkAction>(['complete', 'transfer', 'exception'])(
    'when the action is %s, then it round-trips',
    (action) => {
      const c = { ...claims, action, nonce: deriveNonce(SECRET, 'k', action) };
      expect(verifyActionToken(SECRET, signActionToken(SECRET, c), NOW_MS)).toEqual(c);
    },
  );

  it('when the token is verified with another secret, then it is rejected as BAD_SIGNATURE', () => {
    const token = signActionToken(SECRET, claims);
    expect(problemOf(() => verifyActionToken(OTHER_SECRET, token, NOW_MS))).toBe('BAD_SIGNATURE');
  });

  it('when the payload is swapped for other claims under the old signature, then it is rejected as BAD_SIGNATURE', () => {
    const token = signActionToken(SECRET, claims);
    const signature = token.split('.')[1];
    for (const forged of [
      { ...claims, handlerId: 'mallory' },
      { ...claims, action: 'transfer' as const },
      { ...claims, expiresAt: claims.expiresAt + 86_400 * 365 },
    ]) {
      expect(
        problemOf(() => verifyActionToken(SECRET, `${encodePayload(forged)}.${signature}`, NOW_MS)),
      ).toBe('BAD_SIGNATURE');
    }
  });

  it('when a character in the middle of the signature is changed, then it is rejected as BAD_SIGNATURE', () => {
    const token = signActionToken(SECRET, claims);
    const i = token.indexOf('.') + 10;
    const tampered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    expect(problemOf(() => verifyActionToken(SECRET, tampered, NOW_MS))).toBe('BAD_SIGNATURE');
  });

  it('when the signature is truncated or extended, then it is rejected as BAD_SIGNATURE', () => {
    const token = signActionToken(SECRET, claims);
    expect(problemOf(() => verifyActionToken(SECRET, token.slice(0, -4), NOW_MS))).toBe('BAD_SIGNATURE');
    expect(problemOf(() => verifyActionToken(SECRET, `${token}AAAA`, NOW_MS))).toBe('BAD_SIGNATURE');
  });

  it.each([
    ['an empty string', ''],
    ['no dot', 'abcdef'],
    ['three parts', 'a.b.c'],
    ['an empty payload', '.abcdef'],
    ['an empty signature', 'abcdef.'],
    ['just a dot', '.'],
  ])('when the token has %s, then it is rejected as MALFORMED', (_case, token) => {
    expect(problemOf(() => verifyActionToken(SECRET, token, NOW_MS))).toBe('MALFORMED');
  });

  it('when the token is longer than 1024 characters, then it is rejected as MALFORMED before any crypto', () => {
    const long = signActionToken(SECRET, { ...claims, matterId: 'm'.repeat(1100) });
    expect(long.length).toBeGreaterThan(1024);
    expect(problemOf(() => verifyActionToken(SECRET, long, NOW_MS))).toBe('MALFORMED');
  });

  it('when a correctly signed payload has an unknown action or wrong field types, then it is rejected as MALFORMED', () => {
    const badAction = signActionToken(SECRET, { ...claims, action: 'delete' as LinkAction });
    expect(problemOf(() => verifyActionToken(SECRET, badAction, NOW_MS))).toBe('MALFORMED');
    const badExpiry = signActionToken(SECRET, { ...claims, expiresAt: '2099' as unknown as number });
    expect(problemOf(() => verifyActionToken(SECRET, badExpiry, NOW_MS))).toBe('MALFORMED');
  });

  it('when the error is reported, then its message does not reveal which check failed (except expiry)', () => {
    expect(new ActionTokenError('MALFORMED').message).toBe(new ActionTokenError('BAD_SIGNATURE').message);
    expect(new ActionTokenError('EXPIRED').message).toMatch(/expired/);
  });

  describe('expiry', () => {
    it('when expiresAt is in the past, then it is rejected as EXPIRED', () => {
      const token = signActionToken(SECRET, { ...claims, expiresAt: Math.floor(NOW_MS / 1000) - 60 });
      expect(problemOf(() => verifyActionToken(SECRET, token, NOW_MS))).toBe('EXPIRED');
    });

    it('when now is exactly expiresAt, then the token is already expired', () => {
      const token = signActionToken(SECRET, claims);
      expect(problemOf(() => verifyActionToken(SECRET, token, claims.expiresAt * 1000))).toBe('EXPIRED');
    });

    it('when now is one millisecond before expiresAt, then the token is still valid', () => {
      const token = signActionToken(SECRET, claims);
      expect(verifyActionToken(SECRET, token, claims.expiresAt * 1000 - 1)).toEqual(claims);
    });

    it('when an expired token also has a bad signature, then the signature problem is reported (no claim is trusted unsigned)', () => {
      const token = signActionToken(SECRET, { ...claims, expiresAt: 1 });
      expect(problemOf(() => verifyActionToken(OTHER_SECRET, token, NOW_MS))).toBe('BAD_SIGNATURE');
    });
  });
});

describe('deriveNonce', () => {
  it('when called twice with the same secret, key and action, then it returns the same 22-character base64url nonce', () => {
    const a = deriveNonce(SECRET, 'notif-42', 'transfer');
    expect(a).toBe(deriveNonce(SECRET, 'notif-42', 'transfer'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('when the action differs, then the nonce differs', () => {
    const nonces = (['complete', 'transfer', 'exception'] as const).map((a) =>
      deriveNonce(SECRET, 'notif-42', a),
    );
    expect(new Set(nonces).size).toBe(3);
  });

  it('when the idempotency key or the secret differs, then the nonce differs', () => {
    const base = deriveNonce(SECRET, 'notif-42', 'complete');
    expect(deriveNonce(SECRET, 'notif-43', 'complete')).not.toBe(base);
    expect(deriveNonce(OTHER_SECRET, 'notif-42', 'complete')).not.toBe(base);
  });

  it('property: distinct (key, action) pairs give distinct nonces; equal pairs give equal nonces', () => {
    const action = fc.constantFrom<LinkAction>('complete', 'transfer', 'exception');
    fc.assert(
      fc.property(fc.string(), action, fc.string(), action, (k1, a1, k2, a2) => {
        const same = k1 === k2 && a1 === a2;
        expect(deriveNonce(SECRET, k1, a1) === deriveNonce(SECRET, k2, a2)).toBe(same);
      }),
    );
  });
});

describe('tamper resistance', () => {
  const claimsArb: fc.Arbitrary<ActionClaims> = fc.record({
    matterId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    handlerId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    action: fc.constantFrom<LinkAction>('complete', 'transfer', 'exception'),
    expiresAt: fc.integer({ min: Math.floor(NOW_MS / 1000) + 1, max: 4_000_000_000 }),
    nonce: fc.string({ minLength: 0, maxLength: 22 }),
  });
  const secretArb = fc.string({ minLength: 32, maxLength: 64 });

  it('property: any signed token verifies back to its claims', () => {
    fc.assert(
      fc.property(secretArb, claimsArb, (secret, c) => {
        expect(verifyActionToken(secret, signActionToken(secret, c), NOW_MS)).toEqual(c);
      }),
    );
  });

  it('property: replacing any single character of a token makes it fail verification', () => {
    // Edge positions (first character, last character, either side of the dot) are weighted up;
    // the rest of the token is covered uniformly.
    const positionArb = fc.oneof(
      { weight: 3, arbitrary: fc.nat() },
      { weight: 1, arbitrary: fc.constantFrom('first', 'last', 'beforeDot', 'afterDot') },
    );
    fc.assert(
      fc.property(
        secretArb,
        claimsArb,
        positionArb,
        fc.constantFrom(...`${BASE64URL}.=+/ `),
        (secret, c, where, replacement) => {
          const token = signActionToken(secret, c);
          const dot = token.indexOf('.');
          const i =
            where === 'first'
              ? 0
              : where === 'last'
                ? token.length - 1
                : where === 'beforeDot'
                  ? dot - 1
                  : where === 'afterDot'
                    ? dot + 1
                    : where % token.length;
          fc.pre(token[i] !== replacement);
          const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
          expect(
            verifies(secret, tampered, NOW_MS),
            `tampered token ${tampered} (position ${i}) verified`,
          ).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('exhaustive: no single base64url-character substitution anywhere in a token verifies', () => {
    const token = signActionToken(SECRET, claims);
    const accepted: string[] = [];
    for (let i = 0; i < token.length; i++) {
      for (const ch of `${BASE64URL}.`) {
        if (ch === token[i]) continue;
        const tampered = token.slice(0, i) + ch + token.slice(i + 1);
        if (verifies(SECRET, tampered, NOW_MS)) accepted.push(`position ${i}: ${token[i]} -> ${ch}`);
      }
    }
    expect(accepted).toEqual([]);
  });
});
