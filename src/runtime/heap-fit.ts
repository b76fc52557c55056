import { getHeapStatistics } from 'node:v8';

const MB = 1024 * 1024;
/**
 * A cached matter's run in the workflow thread's V8 heap, with headroom: B5 held 3,000 cached runs
 * through 12,000 matters under `--max-old-space-size=768`.
 */
export const CACHED_RUN_HEAP_MB = 0.25;
/** That thread's heap before any run: the SDK, the workflow bundle and Node's builtins. */
export const BASE_HEAP_MB = 128;

export interface HeapFit {
  neededMb: number;
  limitMb: number;
  fits: boolean;
}

/**
 * Whether `maxCachedWorkflows` runs fit the V8 heap limit. The workflow thread gets the process's
 * limit (`--max-old-space-size`); a cache past it ends in the thread running out of memory, far from
 * the setting that caused it.
 */
export function heapFit(
  maxCachedWorkflows: number,
  limitMb: number = getHeapStatistics().heap_size_limit / MB,
): HeapFit {
  const neededMb = Math.ceil(BASE_HEAP_MB + maxCachedWorkflows * CACHED_RUN_HEAP_MB);
  return { neededMb, limitMb: Math.floor(limitMb), fits: neededMb <= limitMb };
}
