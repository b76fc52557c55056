// Types for the tests; the script itself runs as plain JavaScript in the worker's container.
export interface Poller {
  identity?: string;
  lastAccessTime?: { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null;
}
export declare const MAX_POLL_AGE_MS: number;
export declare function pollsFromHost(
  pollers: Poller[] | null | undefined,
  host: string,
  now?: number,
  maxAgeMs?: number,
): boolean;
