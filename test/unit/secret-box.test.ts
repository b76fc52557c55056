import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretBoxError, secretBox } from '../../src/security/secret-box.js';

const KEY = 'a-configured-key-of-at-least-32-characters';
const box = secretBox(KEY);

describe('secret box', () => {
  it('when a secret is sealed, then it opens to the same text for the same context', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (secret, context) => {
        expect(box.open(box.seal(secret, context), context)).toBe(secret);
      }),
    );
  });

  it('when the same secret is sealed twice, then the two texts differ and neither shows the secret', () => {
    const a = box.seal('hunter2-hunter2', 'source_systems:loans');
    const b = box.seal('hunter2-hunter2', 'source_systems:loans');
    expect(a).not.toBe(b);
    expect(a).not.toContain('hunter2');
  });

  it('when the context differs, then it refuses to open: a sealed secret copied to another source is useless', () => {
    const sealed = box.seal('s', 'source_systems:loans');
    expect(() => box.open(sealed, 'source_systems:cards')).toThrow(SecretBoxError);
  });

  it('when the key differs, then it refuses to open', () => {
    const sealed = box.seal('s', 'c');
    expect(() => secretBox(`${KEY}-rotated`).open(sealed, 'c')).toThrow(SecretBoxError);
  });

  it('when any character of the sealed text changes, then it refuses to open', () => {
    const sealed = box.seal('the callback secret', 'c');
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.constantFrom(...'AQgw-_.x'), (at, ch) => {
        fc.pre(sealed[at] !== ch);
        const altered = `${sealed.slice(0, at)}${ch}${sealed.slice(at + 1)}`;
        let opened: string | undefined;
        try {
          opened = box.open(altered, 'c');
        } catch (err) {
          expect(err).toBeInstanceOf(SecretBoxError);
        }
        // base64url's last character may carry unused bits, so an edit there can decode to the same bytes.
        if (opened !== undefined) expect(opened).toBe('the callback secret');
      }),
    );
  });

  it('when the text is not a sealed secret, then it says so', () => {
    for (const bad of ['', 'v1', 'v2.a.b.c', 'v1.AAAA.BBBB.CCCC']) {
      expect(() => box.open(bad, 'c')).toThrow(SecretBoxError);
    }
  });

  it('when the key is short, then it is refused', () => {
    expect(() => secretBox('short')).toThrow(SecretBoxError);
  });
});
