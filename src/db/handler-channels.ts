import type { Queryable } from './client.js';

/** WeCom userids and XMPP addresses are the same whatever their case, so a sender may spell one differently. */
const CASE_INSENSITIVE = new Set(['wecom', 'xmpp']);

/**
 * The active handler with a channel of `type` at one of `addresses` (a vendor's ids for one person).
 * Null for nobody, and for more than one handler: a shared address names no one person.
 */
export async function handlerByChannelAddress(
  db: Queryable,
  type: string,
  addresses: string[],
): Promise<string | null> {
  const fold = CASE_INSENSITIVE.has(type);
  const wanted = fold ? addresses.map((a) => a.toLowerCase()) : addresses;
  const rows = await db<{ handlerId: string }[]>`
    select distinct c.handler_id as "handlerId"
    from handler_channels c join handlers h on h.id = c.handler_id
    where h.active and c.type = ${type}
      and ${fold ? db`lower(c.address)` : db`c.address`} = any(${wanted})
    limit 2`;
  return rows.length === 1 ? rows[0]!.handlerId : null;
}
