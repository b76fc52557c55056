import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CANCELLED,
  canonicalJson,
  changedFields,
  judge,
  type SourceContent,
} from '../../src/domain/source-version.js';

const content = fc.record<SourceContent>({
  title: fc.string({ minLength: 1, maxLength: 20 }),
  details: fc.option(fc.string({ maxLength: 20 })),
  link: fc.option(fc.webUrl()),
  dueAt: fc.option(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
  priority: fc.constantFrom('low', 'normal', 'high', 'urgent'),
  reminderRule: fc.option(fc.record({ every: fc.constantFrom('PT1H', 'P1D'), maxCount: fc.nat(5) })),
  reminderRuleRef: fc.option(fc.record({ code: fc.constantFrom('std', 'vip') })),
  handlerId: fc.option(fc.constantFrom('alice', 'bob')),
  groupId: fc.option(fc.constantFrom('desk')),
});
const version = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

/** The same object with its keys in reverse order, as jsonb may hand it back. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversedKeys(v)]),
    );
  }
  return value;
}

describe('judge', () => {
  it('when nothing is held, then the write is the first', () => {
    fc.assert(
      fc.property(version, content, (v, c) => {
        expect(judge(null, v, c)).toEqual({ kind: 'first' });
      }),
    );
  });

  it('when the version is lower than the one held, then it is stale whatever its content', () => {
    fc.assert(
      fc.property(version, version, content, content, (a, b, held, sent) => {
        fc.pre(a !== b);
        const [low, high] = a < b ? [a, b] : [b, a];
        expect(judge({ version: high, content: held }, low, sent)).toEqual({ kind: 'stale', held: high });
      }),
    );
  });

  it('when the version is higher than the one held, then it is newer whatever its content', () => {
    fc.assert(
      fc.property(version, version, content, content, (a, b, held, sent) => {
        fc.pre(a !== b);
        const [low, high] = a < b ? [a, b] : [b, a];
        expect(judge({ version: low, content: held }, high, sent)).toEqual({ kind: 'newer', held: low });
      }),
    );
  });

  it('when the same version comes with the same content in any key order, then it is the same write', () => {
    fc.assert(
      fc.property(version, content, (v, c) => {
        const stored = reversedKeys(c) as SourceContent;
        expect(judge({ version: v, content: stored }, v, c)).toEqual({ kind: 'same', held: v });
      }),
    );
  });

  it('when the same version comes with other content, then it is a conflict', () => {
    fc.assert(
      fc.property(version, content, content, (v, held, sent) => {
        fc.pre(canonicalJson(held) !== canonicalJson(sent));
        expect(judge({ version: v, content: held }, v, sent)).toEqual({ kind: 'conflict', held: v });
      }),
    );
  });

  it('when a cancel is resent with its version, then it is the same; content under that version conflicts', () => {
    expect(judge({ version: 4, content: CANCELLED }, 4, { cancelled: true })).toEqual({
      kind: 'same',
      held: 4,
    });
    fc.assert(
      fc.property(content, (c) => {
        expect(judge({ version: 4, content: CANCELLED }, 4, c).kind).toBe('conflict');
      }),
    );
  });
});

describe('changedFields', () => {
  it('when nothing differs, then nothing changed', () => {
    fc.assert(
      fc.property(content, (c) => {
        expect(changedFields(c, reversedKeys(c) as SourceContent)).toEqual([]);
      }),
    );
  });

  it('when fields differ, then exactly those are named, the rule and its template counting as one', () => {
    fc.assert(
      fc.property(content, content, (a, b) => {
        const fields = changedFields(a, b);
        for (const f of ['title', 'details', 'link', 'dueAt', 'priority', 'handlerId', 'groupId'] as const) {
          expect(fields.includes(f), f).toBe(a[f] !== b[f]);
        }
        const ruleDiffers =
          canonicalJson([a.reminderRule, a.reminderRuleRef]) !==
          canonicalJson([b.reminderRule, b.reminderRuleRef]);
        expect(fields.includes('reminderRule')).toBe(ruleDiffers);
        expect(changedFields(b, a).sort()).toEqual([...fields].sort());
      }),
    );
  });
});
