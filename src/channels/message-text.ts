import { DEFAULT_LOCALE, type Locale, lookup, matchLocale, type Params, translator } from '../web/i18n.js';
import type { MessageKey } from '../web/locales/en.js';
import type { ChannelTarget, OutboundMessage } from './channel.js';

export type { Locale };

/** A handler's locale as stored, or anything else: what the web would show them when nobody chose. */
export function localeOf(tag: unknown): Locale {
  return matchLocale(typeof tag === 'string' ? tag : null) ?? DEFAULT_LOCALE;
}

/** Delivery puts the recipient's locale on every target it sends to. */
export function targetLocale(target: ChannelTarget): Locale {
  return localeOf(target.settings.locale);
}

/** A string of the web's catalogs, which hold what the channels write too. */
export function say(locale: Locale, key: MessageKey, params?: Params): string {
  return translator(locale)(key, params);
}

/** The catalog's text, or null for a key it does not have in any language. */
function known(locale: Locale, key: string): string | null {
  const text = lookup(locale, key);
  return text === key ? null : text;
}

function capitalised(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The event with its subject: "Matter reminder", "Change approved". */
export function headline(type: string, locale: Locale = DEFAULT_LOCALE): string {
  return known(locale, `notice.headline.${type}`) ?? capitalised(type.replace(/[._]/g, ' '));
}

/** The event alone, for text that shows the matter right beside it: "Reminder", "Change approved". */
export function noticeLabel(type: string, locale: Locale = DEFAULT_LOCALE): string {
  return (
    known(locale, `notice.event.${type}`) ?? capitalised(type.replace(/^matter\./, '').replace(/[._]/g, ' '))
  );
}

export function actionLabel(action: string, locale: Locale = DEFAULT_LOCALE): string {
  return known(locale, `notice.action.${action}`) ?? noticeLabel(action, locale);
}

/** The Feishu, Slack and Teams buttons have read "File exception" from the start. */
function cardButtonLabel(action: string, locale: Locale): string {
  return known(locale, `notice.button.${action}`) ?? actionLabel(action, locale);
}

/** A matter's priority in words; one the catalogs do not name shows as it came. */
export function priorityLabel(priority: string, locale: Locale = DEFAULT_LOCALE): string {
  return known(locale, `priority.${priority}`) ?? priority;
}

/** A card's buttons: one per action link, then one opening the matter in its source system (no `action`). */
export function linkButtons(
  message: OutboundMessage,
  locale: Locale = DEFAULT_LOCALE,
): { action: string | null; label: string; url: string }[] {
  const { matter } = message;
  return [
    ...message.actions.map((a) => ({ ...a, label: cardButtonLabel(a.action, locale) })),
    ...(matter.link
      ? [{ action: null, label: say(locale, 'notice.openIn', { source: matter.source }), url: matter.link }]
      : []),
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

/** In UTC, said so, for channels that cannot show each reader's own time zone; the same in every language. */
export function formatDue(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Event, due time, priority and handler on one line, still to be escaped for the channel. */
export function factsLine(message: OutboundMessage, locale: Locale = DEFAULT_LOCALE): string {
  const { matter } = message;
  return [
    noticeLabel(message.type, locale),
    ...(matter.dueAt ? [`${say(locale, 'notice.field.due')} ${formatDue(matter.dueAt)}`] : []),
    `${say(locale, 'notice.field.priority')} ${priorityLabel(matter.priority, locale)}`,
    `${say(locale, 'notice.field.handler')} ${message.handler.name}`,
  ].join(' · ');
}

const OUTCOMES: Partial<Record<string, MessageKey>> = {
  'matter.completed': 'notice.outcome.completed',
  'matter.transferred': 'notice.outcome.transferred',
  'transfer.rejected': 'notice.outcome.handedBack',
  'matter.claimed': 'notice.outcome.claimed',
};

/** Where an update has room for a few words only; `handler` is whom the outcome notice goes to. */
export function outcomeText(message: OutboundMessage, locale: Locale = DEFAULT_LOCALE): string {
  const key = OUTCOMES[message.type];
  return key ? say(locale, key, { name: message.handler.name }) : noticeLabel(message.type, locale);
}

/** Who settled the matter, how and when, as convergence hands it to a card it brings up to date. */
export interface Settled {
  type: string;
  by: string | null;
  to: string | null;
  at: string;
}

function settledOf(value: unknown): Settled | null {
  if (typeof value !== 'object' || value === null) return null;
  const { type, by, to, at } = value as Record<string, unknown>;
  if (typeof type !== 'string' || typeof at !== 'string') return null;
  const name = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return { type, by: name(by), to: name(to), at };
}

/** One line saying who did what with the matter and when, in the reader's language. */
export function settledLine(settled: Settled, locale: Locale = DEFAULT_LOCALE): string {
  const verb = known(locale, `notice.settledVerb.${settled.type}`) ?? noticeLabel(settled.type, locale);
  const params = { verb, at: formatDue(settled.at), by: settled.by ?? '', to: settled.to ?? '' };
  const key = settled.to
    ? settled.by
      ? 'notice.settled.toBy'
      : 'notice.settled.to'
    : settled.by
      ? 'notice.settled.by'
      : 'notice.settled.at';
  return say(locale, key, params);
}

/**
 * What a settled card shows: who settled it and how (`data.settled`, from convergence), then the outcome and
 * comment it was settled with, those given, still to be escaped for the channel.
 */
export function outcomeFacts(
  message: OutboundMessage,
  locale: Locale = DEFAULT_LOCALE,
): [label: string, value: string][] {
  const settled = settledOf(message.data.settled);
  const facts: [string, unknown][] = [
    ...(settled
      ? [[say(locale, 'notice.field.settled'), settledLine(settled, locale)] as [string, string]]
      : []),
    [say(locale, 'notice.field.outcome'), message.data.outcome],
    [say(locale, 'notice.field.comment'), message.data.comment],
  ];
  return facts.filter((fact): fact is [string, string] => typeof fact[1] === 'string' && fact[1] !== '');
}

/** Spaces and parentheses would end a markdown link target early. */
export function markdownUrl(url: string): string {
  return url.replace(/[ ()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
