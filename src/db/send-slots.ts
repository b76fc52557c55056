import type { SendLimit } from '../channels/channel.js';
import { deepestLimit, longestWindow, nextSendSlot } from '../domain/send-limits.js';
import type { Sql } from './client.js';

/**
 * Grants the next send to a target under its limits, if that is no more than `maxWaitMs` away: the
 * caller then waits `waitMs`. Otherwise nothing is granted and `waitMs` says when to ask again. Waits
 * are measured on the database's clock, which every worker shares.
 */
export async function grantSendSlot(
  sql: Sql,
  targetKey: string,
  limits: readonly SendLimit[],
  maxWaitMs: number,
): Promise<{ granted: boolean; waitMs: number /** The slot, on the database's clock. */; at: number }> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`send-slots:${targetKey}`}))`;
    const [clock] = await tx<{ now: Date }[]>`select clock_timestamp() as now`;
    const now = clock!.now;
    const windowStart = new Date(now.getTime() - longestWindow(limits));
    await tx`delete from channel_send_slots where target_key = ${targetKey} and slot_at <= ${windowStart}`;
    const slots = await tx<{ at: Date }[]>`
      select slot_at as at from channel_send_slots where target_key = ${targetKey}
      order by slot_at desc limit ${deepestLimit(limits)}`;
    const at = nextSendSlot(
      slots.map((s) => s.at.getTime()),
      limits,
      now.getTime(),
    );
    const waitMs = at - now.getTime();
    if (waitMs > maxWaitMs) return { granted: false, waitMs, at };
    await tx`insert into channel_send_slots (target_key, slot_at) values (${targetKey}, ${new Date(at)})`;
    return { granted: true, waitMs, at };
  });
}
