import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { BASE_HEAP_MB, CACHED_RUN_HEAP_MB, heapFit } from '../../src/runtime/heap-fit.js';

describe('heapFit', () => {
  it('when the default 3000 runs are cached, then they fit the 1024 MB heap the deployed worker gets', () => {
    expect(heapFit(3000, 1024)).toEqual({ neededMb: 878, limitMb: 1024, fits: true });
  });

  it('when the cache outgrows the heap limit, then it is reported as not fitting, with both figures', () => {
    expect(heapFit(10_000, 1024)).toEqual({ neededMb: 2628, limitMb: 1024, fits: false });
    expect(heapFit(3000, 512).fits).toBe(false);
  });

  it('when the cache grows by a run, then the heap it needs grows by one run, from a fixed base', () => {
    expect(heapFit(0, 4096).neededMb).toBe(BASE_HEAP_MB);
    expect(heapFit(4000, 4096).neededMb - heapFit(0, 4096).neededMb).toBe(4000 * CACHED_RUN_HEAP_MB);
  });

  it("when no limit is given, then it is this process's V8 heap limit", () => {
    expect(heapFit(10).limitMb).toBe(Math.floor(getHeapStatistics().heap_size_limit / 1024 / 1024));
  });
});
