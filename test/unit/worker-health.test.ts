import { describe, expect, it } from 'vitest';
import { MAX_POLL_AGE_MS, pollsFromHost } from '../../scripts/worker-health.mjs';

const NOW = 1_800_000_000_000;
const seen = (msAgo: number) => ({ seconds: Math.floor((NOW - msAgo) / 1000), nanos: 0 });

describe('worker health check', () => {
  it('when this host polled a moment ago, then the worker is healthy', () => {
    expect(pollsFromHost([{ identity: '7@abc123', lastAccessTime: seen(5_000) }], 'abc123', NOW)).toBe(true);
  });

  it('when only another replica polls, then this one is not healthy', () => {
    expect(pollsFromHost([{ identity: '7@other', lastAccessTime: seen(5_000) }], 'abc123', NOW)).toBe(false);
    expect(pollsFromHost([{ identity: '7@xabc123', lastAccessTime: seen(5_000) }], 'abc123', NOW)).toBe(
      false,
    );
  });

  it('when this host last polled longer ago than a long poll lasts, then it is not healthy', () => {
    const stale = [{ identity: '7@abc123', lastAccessTime: seen(MAX_POLL_AGE_MS + 1_000) }];
    expect(pollsFromHost(stale, 'abc123', NOW)).toBe(false);
  });

  it('when the seconds come as a protobuf Long, then they are read as a number', () => {
    const long = { toNumber: () => Math.floor(NOW / 1000) - 1 };
    expect(pollsFromHost([{ identity: '1@abc123', lastAccessTime: { seconds: long } }], 'abc123', NOW)).toBe(
      true,
    );
  });

  it('when there are no pollers at all, then it is not healthy', () => {
    expect(pollsFromHost(undefined, 'abc123', NOW)).toBe(false);
    expect(pollsFromHost([], 'abc123', NOW)).toBe(false);
  });
});
