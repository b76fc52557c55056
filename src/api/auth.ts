import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { findPrincipal, type Principal, type Role } from '../db/api-tokens.js';
import type { Sql } from '../db/client.js';
import { ApiError, forbidden } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]{16,512}=*)$/;

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { sql: Sql }) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (!header) return;
      const match = BEARER.exec(header);
      if (!match?.[1]) throw new ApiError(401, 'UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
      const found = await findPrincipal(opts.sql, match[1]);
      if ('problem' in found) {
        const why = { UNKNOWN: 'unknown', REVOKED: 'revoked', EXPIRED: 'expired' }[found.problem];
        throw new ApiError(401, 'UNAUTHENTICATED', `this token is ${why}`);
      }
      request.principal = found.principal;
    });
  },
  { name: 'auth' },
);

/** A preHandler refusing anonymous callers and, when roles are given, every other role. */
export function requireRole(...roles: Role[]) {
  return async (request: FastifyRequest) => {
    principalOf(request, roles);
  };
}

export function principalOf(request: FastifyRequest, roles: Role[] = []): Principal {
  const p = request.principal;
  if (!p) throw new ApiError(401, 'UNAUTHENTICATED', 'a bearer token is required');
  if (roles.length > 0 && !roles.includes(p.role)) {
    throw forbidden(`this needs the role ${roles.join(' or ')}; your token has ${p.role}`);
  }
  return p;
}
