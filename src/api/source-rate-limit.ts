import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Sql } from '../db/client.js';
import { findSourceSystem } from '../db/source-systems.js';
import { principalOf } from './auth.js';
import { ApiError } from './errors.js';

/** A changed rate limit applies within this long; the registry is not read on every request. */
const LIMIT_CACHE_MS = 10_000;

/** Counts a request against a source's `rateLimitPerMinute`; throws 429 RATE_LIMITED once it is used up. */
export type SourceRateLimit = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * The source a request counts against: the one its path names (an admin on a source's behalf counts
 * too), or else the source whose token made it.
 */
function sourceOf(request: FastifyRequest): string {
  return (request.params as { source?: string }).source ?? principalOf(request).subject;
}

/**
 * One counter per source, shared by every route that takes its requests, so that no route of them
 * is a way around the others' budget.
 */
export async function sourceRateLimit(app: FastifyInstance, sql: Sql): Promise<SourceRateLimit> {
  const limits = new Map<string, { perMinute: number | null; until: number }>();
  async function perMinute(code: string): Promise<number | null> {
    const cached = limits.get(code);
    if (cached && cached.until > Date.now()) return cached.perMinute;
    const found = await findSourceSystem(sql, code);
    const value = found?.rateLimitPerMinute ?? null;
    limits.set(code, { perMinute: value, until: Date.now() + LIMIT_CACHE_MS });
    return value;
  }
  let check: ReturnType<FastifyInstance['createRateLimit']> | undefined;
  // In a scope of its own: the plugin's hooks stay off every other route.
  await app.register(async (scope) => {
    await scope.register(rateLimit, { global: false });
    check = scope.createRateLimit({
      timeWindow: 60_000,
      keyGenerator: (request) => `source:${sourceOf(request)}`,
      allowList: async (request) => (await perMinute(sourceOf(request))) === null,
      max: async (request) => (await perMinute(sourceOf(request))) ?? 0,
    });
  });
  const limiter = check!;
  return async (request, reply) => {
    const result = await limiter(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', result.ttlInSeconds);
    throw new ApiError(
      429,
      'RATE_LIMITED',
      `source "${sourceOf(request)}" may make ${result.max} requests a minute; retry in ${result.ttlInSeconds} s`,
      { limitPerMinute: result.max, retryAfterSeconds: result.ttlInSeconds },
    );
  };
}
