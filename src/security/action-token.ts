import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LinkAction } from '../activities/contracts.js';

export interface ActionClaims {
  matterId: string;
  handlerId: string;
  action: LinkAction;
  /** Epoch seconds. */
  expiresAt: number;
  nonce: string;
}

export type TokenProblem = 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED';

export class ActionTokenError extends Error {
  constructor(readonly problem: TokenProblem) {
    super(
      {
        MALFORMED: 'this action link is not valid',
        BAD_SIGNATURE: 'this action link is not valid',
        EXPIRED: 'this action link has expired',
      }[problem],
    );
  }
}

const ACTIONS = new Set<string>(['complete', 'transfer', 'exception']);

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`action-link.v1.${payload}`).digest();
}

/**
 * The nonce comes from the notification's idempotency key, so a retried send mints the very same
 * link instead of a second live one.
 */
export function deriveNonce(secret: string, idempotencyKey: string, action: LinkAction): string {
  return createHmac('sha256', secret)
    .update(`nonce.${idempotencyKey}.${action}`)
    .digest('base64url')
    .slice(0, 22);
}

export function signActionToken(secret: string, claims: ActionClaims): string {
  const payload = Buffer.from(
    JSON.stringify([claims.matterId, claims.handlerId, claims.action, claims.expiresAt, claims.nonce]),
  ).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

export function verifyActionToken(secret: string, token: string, nowMs: number): ActionClaims {
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 1024)
    throw new ActionTokenError('MALFORMED');
  const [payload, signature] = parts as [string, string];
  // Compare the text, not decoded bytes: base64url's spare trailing bits would admit other spellings.
  const given = Buffer.from(signature);
  const expected = Buffer.from(mac(secret, payload).toString('base64url'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ActionTokenError('BAD_SIGNATURE');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new ActionTokenError('MALFORMED');
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 5 ||
    typeof decoded[0] !== 'string' ||
    typeof decoded[1] !== 'string' ||
    !ACTIONS.has(decoded[2]) ||
    typeof decoded[3] !== 'number' ||
    typeof decoded[4] !== 'string'
  ) {
    throw new ActionTokenError('MALFORMED');
  }
  const claims: ActionClaims = {
    matterId: decoded[0],
    handlerId: decoded[1],
    action: decoded[2] as LinkAction,
    expiresAt: decoded[3],
    nonce: decoded[4],
  };
  if (claims.expiresAt * 1000 <= nowMs) throw new ActionTokenError('EXPIRED');
  return claims;
}
