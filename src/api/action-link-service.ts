import { claimActionLink, linkState, releaseActionLink } from '../db/action-links.js';
import type { Sql } from '../db/client.js';
import { standsInFor } from '../db/delegations.js';
import { lastSettlingEvent } from '../db/events.js';
import type { MatterRow } from '../db/matters.js';
import { describeOutcome } from '../domain/outcome.js';
import { type ActionClaims, ActionTokenError, verifyActionToken } from '../security/action-token.js';
import { ApiError } from './errors.js';
import type { MatterService } from './matter-service.js';

const DEAD_LINK: Record<string, string> = {
  unknown: 'this action link is not valid',
  used: 'this action link has already been used',
  revoked: 'this action link is no longer valid: the matter was transferred or completed',
  expired: 'this action link has expired',
};

export interface OpenLink {
  claims: ActionClaims;
  matter: MatterRow;
  /** The holder the link's handler stands in for, when it is not their own matter. */
  onBehalfOf: string | null;
}

/** The checks every use of an action link makes, from a page, a form or a card button alike. */
export function actionLinkService({
  sql,
  matters,
  linkSecret,
}: {
  sql: Sql;
  matters: MatterService;
  linkSecret: string;
}) {
  /** A link that no longer acts says why, and who did what with the matter meanwhile. */
  async function deadLink(state: string, matterId: string): Promise<ApiError> {
    const last = state === 'unknown' ? null : await lastSettlingEvent(sql, matterId);
    const happened = last ? describeOutcome(last) : null;
    const reason = DEAD_LINK[state] ?? DEAD_LINK.used!;
    return new ApiError(
      state === 'unknown' ? 404 : 410,
      `LINK_${state.toUpperCase()}`,
      happened ? `${reason}. ${happened}.` : reason,
      happened
        ? { happened: { type: last!.type, by: last!.by, to: last!.to, at: last!.at.toISOString() } }
        : undefined,
    );
  }

  return {
    /**
     * Signature, expiry, the stored link and the matter's current holder must all agree; a stand-in's
     * link works only while they still stand in for the holder.
     */
    async open(token: string): Promise<OpenLink> {
      let claims: ActionClaims;
      try {
        claims = verifyActionToken(linkSecret, token, Date.now());
      } catch (err) {
        if (err instanceof ActionTokenError) {
          throw err.problem === 'EXPIRED'
            ? new ApiError(410, 'LINK_EXPIRED', err.message)
            : new ApiError(404, 'LINK_INVALID', err.message);
        }
        throw err;
      }
      const state = await linkState(sql, token);
      if (state !== 'live') throw await deadLink(state, claims.matterId);
      const matter = await matters.load(claims.matterId);
      const holder = matter.handlerId;
      const own = holder === claims.handlerId;
      if (
        matter.status !== 'open' ||
        !holder ||
        (!own && !(await standsInFor(sql, claims.handlerId, holder)))
      ) {
        throw await deadLink('revoked', claims.matterId);
      }
      return { claims, matter, onBehalfOf: own ? null : holder };
    },

    /**
     * Takes the link (single use), then acts; a failure for which `giveBack` says the holder may try
     * again returns the link to them.
     */
    async use<T>(
      token: string,
      matterId: string,
      act: () => Promise<T>,
      giveBack: (err: unknown) => boolean,
    ): Promise<T> {
      if (!(await claimActionLink(sql, token))) {
        const state = await linkState(sql, token);
        throw await deadLink(state === 'live' ? 'used' : state, matterId);
      }
      try {
        return await act();
      } catch (err) {
        if (giveBack(err)) await releaseActionLink(sql, token);
        throw err;
      }
    },
  };
}

export type ActionLinkService = ReturnType<typeof actionLinkService>;
