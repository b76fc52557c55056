/** Reading untrusted vendor input: the checks every verifier and parser here shares. */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function refuse<R extends string>(reason: R): { ok: false; reason: R } {
  return { ok: false, reason };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export function stringOrNull(value: unknown): string | null {
  return isNonEmptyString(value) ? value : null;
}

/** Padded standard base64, not empty: URL-encoded or URL-safe text is refused rather than decoded leniently. */
export function isBase64(value: unknown): value is string {
  return isNonEmptyString(value) && BASE64.test(value);
}

/** Undefined for bytes that are not UTF-8, instead of the replacement characters a lenient decoder puts in. */
export function utf8(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
