import type { MatterView } from './channel.js';

type When = string | Date | null;

/** What a message shows of a matter, from the workflow's state or a stored row alike. */
export function matterViewOf(
  m: Omit<MatterView, 'dueAt' | 'createdAt'> & { dueAt: When; createdAt: string | Date },
): MatterView {
  const text = (d: When) => (d instanceof Date ? d.toISOString() : d);
  return {
    id: m.id,
    source: m.source,
    externalId: m.externalId,
    title: m.title,
    details: m.details,
    link: m.link,
    dueAt: text(m.dueAt),
    priority: m.priority,
    status: m.status,
    handlerId: m.handlerId,
    groupId: m.groupId ?? null,
    createdAt: text(m.createdAt) ?? '',
  };
}
