import { describe, expect, it } from 'vitest';
import { diffRows, showValue } from '../../src/web/console-diff.js';

describe('change request diff as table rows', () => {
  it('when a matter is added, then every field is an added row, who and what first', () => {
    const rows = diffRows({
      priority: { from: null, to: 'high' },
      title: { from: null, to: 'Check the loan file' },
      source: { from: null, to: 'loans' },
      reminderRuleRef: { from: null, to: { code: 'daily', version: 3 } },
    });
    expect(rows).toEqual([
      { field: 'source', before: null, after: 'loans', change: 'added' },
      { field: 'title', before: null, after: 'Check the loan file', change: 'added' },
      { field: 'priority', before: null, after: 'high', change: 'added' },
      { field: 'reminderRuleRef', before: null, after: 'daily v3', change: 'added' },
    ]);
  });

  it('when a field is cleared, then its row says removed and keeps the old value', () => {
    expect(diffRows({ link: { from: 'https://x.example/1', to: null } })).toEqual([
      { field: 'link', before: 'https://x.example/1', after: null, change: 'removed' },
    ]);
  });

  it('when a value changes, then both sides show, a rule as compact JSON', () => {
    const [row] = diffRows({ reminderRule: { from: { every: 'PT1H' }, to: { every: 'PT2H', maxCount: 3 } } });
    expect(row).toEqual({
      field: 'reminderRule',
      before: '{"every":"PT1H"}',
      after: '{"every":"PT2H","maxCount":3}',
      change: 'changed',
    });
  });

  it('when a matter is cancelled, then the status row shows open → cancelled', () => {
    expect(diffRows({ status: { from: 'open', to: 'cancelled' } })).toEqual([
      { field: 'status', before: 'open', after: 'cancelled', change: 'changed' },
    ]);
  });

  it('when fields are unknown to the console, then they follow the known ones alphabetically', () => {
    const fields = diffRows({
      zeta: { from: 1, to: 2 },
      alpha: { from: true, to: false },
      title: { from: 'a', to: 'b' },
    }).map((r) => r.field);
    expect(fields).toEqual(['title', 'alpha', 'zeta']);
  });

  it('shows empty text and missing values as nothing', () => {
    expect([showValue(''), showValue(null), showValue(undefined), showValue(0)]).toEqual([
      null,
      null,
      null,
      '0',
    ]);
  });
});
