import type { DeliveryResult } from './channel.js';
import { type ApiReply, errcodeOf, failed } from './vendor-http.js';

/** A token and the lifetime the vendor gave it, or why no token could be had. */
export type TokenGrant = { token: string; expiresInS: number } | DeliveryResult;

export interface TokenCacheOptions<T> {
  fetch: () => Promise<TokenGrant>;
  /** How long before the given expiry to fetch anew, at most half the lifetime. */
  renewEarlyMs: number;
  /** Whether the vendor refused the token a call was made with. */
  refused: (answer: T) => boolean;
  now?: () => Date;
}

/** One app access token shared by concurrent calls, since vendors limit how often one may be fetched. */
export class AccessTokenCache<T extends object> {
  private cached: { token: string; expiresAt: number } | null = null;
  private pending: Promise<string | DeliveryResult> | null = null;

  constructor(private readonly options: TokenCacheOptions<T>) {}

  /** Makes the call with the token; a refused token is dropped and the call made once more with a new one. */
  async call(request: (token: string) => Promise<T | DeliveryResult>): Promise<T | DeliveryResult> {
    const token = await this.token();
    if (typeof token !== 'string') return token;
    const answer = await request(token);
    if (failed(answer) || !this.options.refused(answer)) return answer;
    // A concurrent call may already have replaced it.
    if (this.cached?.token === token) this.cached = null;
    const renewed = await this.token();
    return typeof renewed === 'string' ? request(renewed) : renewed;
  }

  private token(): Promise<string | DeliveryResult> {
    const { now = () => new Date(), renewEarlyMs } = this.options;
    if (this.cached && now().getTime() < this.cached.expiresAt) return Promise.resolve(this.cached.token);
    this.pending ??= this.options
      .fetch()
      .then((grant) => {
        if (failed(grant)) return grant;
        const lifetimeMs = grant.expiresInS * 1000;
        this.cached = {
          token: grant.token,
          expiresAt: now().getTime() + lifetimeMs - Math.min(renewEarlyMs, lifetimeMs / 2),
        };
        return grant.token;
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }
}

/** The grant in a token answer whose fields the caller picked out, if they hold a usable one. */
export function tokenGrant(vendor: string, token: unknown, expiresIn: unknown): TokenGrant {
  const expiresInS = Number(expiresIn);
  if (typeof token !== 'string' || token === '' || !(expiresInS > 0)) {
    return { ok: false, error: `${vendor} gave no access token`, retryable: true };
  }
  return { token, expiresInS };
}

/** WeCom and DingTalk refuse a stale token with an errcode. */
export function errcodeTokenCache(
  fetch: () => Promise<TokenGrant>,
  refusedErrcodes: ReadonlySet<number>,
  now?: () => Date,
): AccessTokenCache<ApiReply> {
  return new AccessTokenCache({
    fetch,
    renewEarlyMs: 5 * 60_000,
    refused: (answer) => refusedErrcodes.has(errcodeOf(answer.json)),
    now,
  });
}
