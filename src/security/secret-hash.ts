import { createHash, randomBytes } from 'node:crypto';

/** Bearer tokens and action links are stored only as this digest. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
