import type { OutboundMessage } from './channel.js';

const ACTION_LABELS: Record<string, string> = {
  complete: 'Complete',
  transfer: 'Transfer',
  exception: 'Report exception',
};

/** The Feishu, Slack and Teams buttons have read "File exception" from the start. */
const CARD_BUTTON_LABELS: Record<string, string> = { ...ACTION_LABELS, exception: 'File exception' };

/** The event with its subject: "Matter reminder", "Change approved". */
export function headline(type: string): string {
  const words = type.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The event alone, for text that shows the matter right beside it: "Reminder", "Change approved". */
export function noticeLabel(type: string): string {
  return headline(type.replace(/^matter\./, ''));
}

export function actionLabel(action: string, labels = ACTION_LABELS): string {
  return labels[action] ?? noticeLabel(action);
}

/** A card's buttons: one per action link, then one opening the matter in its source system (no `action`). */
export function linkButtons(
  message: OutboundMessage,
): { action: string | null; label: string; url: string }[] {
  const { matter } = message;
  return [
    ...message.actions.map((a) => ({ ...a, label: actionLabel(a.action, CARD_BUTTON_LABELS) })),
    ...(matter.link ? [{ action: null, label: `Open in ${matter.source}`, url: matter.link }] : []),
    ...attachmentLinks(message).map((a) => ({ action: null, label: a.name, url: a.url })),
  ];
}

/** The documents an exception filing points to, as the links it was filed with. */
export function attachmentLinks(message: OutboundMessage): { name: string; url: string }[] {
  const given = message.data.attachments;
  return Array.isArray(given)
    ? given.filter(
        (a): a is { name: string; url: string } =>
          typeof a?.name === 'string' && typeof a?.url === 'string' && /^https?:\/\//.test(a.url),
      )
    : [];
}

/** In UTC, said so, for channels that cannot show each reader's own time zone. */
export function formatDue(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Event, due time, priority and handler on one line, still to be escaped for the channel. */
export function factsLine(message: OutboundMessage): string {
  const { matter } = message;
  return [
    noticeLabel(message.type),
    ...(matter.dueAt ? [`Due ${formatDue(matter.dueAt)}`] : []),
    `Priority ${matter.priority}`,
    `Handler ${message.handler.name}`,
  ].join(' · ');
}

/** Where an update has room for a few words only; `handler` is whom the outcome notice goes to. */
export function outcomeText(message: OutboundMessage): string {
  const who = message.handler.name;
  switch (message.type) {
    case 'matter.completed':
      return `Completed by ${who}`;
    case 'matter.transferred':
      return `Transferred to ${who}`;
    case 'transfer.rejected':
      return `Handed back to ${who}`;
    case 'matter.claimed':
      return `Claimed by ${who}`;
    default:
      return noticeLabel(message.type);
  }
}

/** The outcome and comment the matter was settled with, those given, still to be escaped for the channel. */
export function outcomeFacts(message: OutboundMessage): [label: string, value: string][] {
  const facts: [string, unknown][] = [
    ['Outcome', message.data.outcome],
    ['Comment', message.data.comment],
  ];
  return facts.filter((fact): fact is [string, string] => typeof fact[1] === 'string' && fact[1] !== '');
}

export const NO_FURTHER_ACTION = 'No further action is needed.';

/** Spaces and parentheses would end a markdown link target early. */
export function markdownUrl(url: string): string {
  return url.replace(/[ ()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
