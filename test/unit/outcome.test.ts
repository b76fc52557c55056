import { describe, expect, it } from 'vitest';
import { describeOutcome } from '../../src/domain/outcome.js';

const at = '2026-11-29T12:05:31.000Z';

describe('the one line a stale card or dead link shows', () => {
  it('a transfer names whom it went to and who passed it on', () => {
    expect(describeOutcome({ type: 'matter.transferred', by: '张三', to: '李四', at })).toBe(
      'Transferred to 李四 by 张三 at 2026-11-29 12:05 UTC',
    );
  });

  it('a hand-back names whom it went back to and who handed it back', () => {
    expect(describeOutcome({ type: 'transfer.rejected', by: '李四', to: '张三', at: new Date(at) })).toBe(
      'Handed back to 张三 by 李四 at 2026-11-29 12:05 UTC',
    );
  });

  it('a matter an exception filing sent back says it went back to its source', () => {
    expect(describeOutcome({ type: 'matter.returned', by: '张三', at })).toBe(
      'Returned to its source by 张三 at 2026-11-29 12:05 UTC',
    );
  });

  it('a cancellation by nobody known says only what happened and when', () => {
    expect(describeOutcome({ type: 'matter.cancelled', by: null, at })).toBe(
      'Cancelled at 2026-11-29 12:05 UTC',
    );
  });
});
