import type { OutboundMessage } from '../channels/channel.js';
import { matterViewOf } from '../channels/matter-view.js';
import { getHandler } from '../db/handlers.js';
import { cardsToConverge, markConverged } from '../db/notifications.js';
import type { MatterEventType, MatterState } from '../domain/matter.js';
import type { Throttled } from './contracts.js';
import { waitForSendSlot } from './delivery.js';
import type { ActivityDeps } from './index.js';

export interface ConvergeInput {
  /** The event that closed the matter's cards: completed, transferred, handed back, returned or cancelled. */
  type: MatterEventType;
  actorId: string | null;
  occurredAt: string;
  /** As the event left it; its seq is the event's, so later notices (the new holder's card) are not touched. */
  state: MatterState;
  data: Record<string, unknown>;
}

export function createConvergeActivities(deps: ActivityDeps) {
  const { sql, channels } = deps;

  /** By name where the handler is known; an id no longer on record still says who. */
  async function person(id: string | null): Promise<{ id: string; name: string } | null> {
    if (id === null) return null;
    const found = await getHandler(sql, id);
    return { id, name: found?.name ?? id };
  }

  return {
    /**
     * Brings every card already sent about the matter up to date with its outcome, where the vendor lets
     * a sent message be edited; the others' links land on a page that says what happened.
     */
    async convergeMessages(input: ConvergeInput): Promise<'converged' | Throttled> {
      const cards = await cardsToConverge(sql, input.state.id, input.state.seq);
      const actor = await person(input.actorId);
      const to = typeof input.data.to === 'string' ? await person(input.data.to) : null;
      // WeCom names `handler` in the few words it shows: whom the matter went to, else who settled it.
      const subject = to ?? actor;
      const failures: string[] = [];
      for (const card of cards) {
        const channel = channels.get(card.channelType);
        if (!channel?.update) continue;
        // Written in the reader's language, as its card was.
        const target = {
          type: card.channelType,
          address: card.address,
          settings: { ...card.settings, locale: card.locale },
        };
        const throttled = await waitForSendSlot(sql, channel, target);
        if (throttled) return throttled;
        const message: OutboundMessage = {
          type: input.type,
          matter: matterViewOf(input.state),
          handler: subject ?? { id: '', name: '' },
          actions: [],
          idempotencyKey: `converge:${card.id}`,
          data: {
            ...input.data,
            settled: {
              type: input.type,
              by: actor?.name ?? null,
              to: to?.name ?? null,
              at: input.occurredAt,
            },
            at: input.occurredAt,
          },
        };
        const result = await channel.update(target, card.vendorRef, message);
        if (result.ok) await markConverged(sql, card.id);
        else if (result.retryable) failures.push(`${card.channelType} card ${card.id}: ${result.error}`);
      }
      // Thrown so Temporal retries; cards already brought up to date are not touched again.
      if (failures.length > 0) throw new Error(failures.join('; '));
      return 'converged';
    },
  };
}
