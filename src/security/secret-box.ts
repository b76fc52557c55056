import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets matterflow must use again (a source's callback key), so they cannot be stored as digests:
 * AES-256-GCM under a key derived from configuration. `context` is authenticated with the ciphertext, so
 * a sealed secret copied to another row (another source) does not open there.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  /** Throws SecretBoxError when the text was altered, sealed under another key or for another context. */
  open(sealed: string, context: string): string;
}

export class SecretBoxError extends Error {}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Derives the AES key with HKDF, so a configured passphrase of any length yields a full-strength key. */
export function secretBox(keyMaterial: string, purpose = 'matterflow callback secrets'): SecretBox {
  if (keyMaterial.length < 32) throw new SecretBoxError('the secret box key must be at least 32 characters');
  const key = Buffer.from(hkdfSync('sha256', keyMaterial, Buffer.alloc(0), purpose, 32));
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : b64(p)))
        .join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed secret');
      const [iv, tag, body] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [
        Buffer,
        Buffer,
        Buffer,
      ];
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('the sealed secret does not open: altered, or sealed under another key');
      }
    },
  };
}

const b64 = (b: Buffer) => b.toString('base64url');
