import { consoleEn } from './locales/console-en.js';
import { consoleZhCN } from './locales/console-zh-CN.js';
import { en, type MessageKey } from './locales/en.js';
import { zhCN } from './locales/zh-CN.js';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
// Browsers always say what they prefer; only scripts and bare clients get this.
export const DEFAULT_LOCALE: Locale = 'en';

export type Params = Record<string, string | number>;
export type Translate = (key: string, params?: Params) => string;

/**
 * The catalogs by locale. A page group with its own strings (the console's) adds its catalogs here;
 * a key missing in one locale falls back to English, then to the key itself.
 */
const CATALOGS: Record<Locale, Record<string, string>[]> = {
  en: [en, consoleEn],
  'zh-CN': [zhCN, consoleZhCN],
};

/** `zh`, `zh-Hans-CN`, `ZH-cn` → zh-CN; `en-GB` → en; anything else → null. */
export function matchLocale(tag: string | undefined | null): Locale | null {
  if (!tag) return null;
  const lower = tag.trim().toLowerCase();
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
  if (lower === 'en' || lower.startsWith('en-')) return 'en';
  return null;
}

/** The first supported language of an Accept-Language header, by its q weights. */
export function fromAcceptLanguage(header: string | undefined): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag ?? '', q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((r) => Number.isFinite(r.q) && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const r of ranked) {
    const found = matchLocale(r.tag);
    if (found) return found;
  }
  return null;
}

/** The language a page is shown in: an explicit choice, else the handler's own, else the browser's. */
export function resolveLocale(s: {
  query?: string | undefined;
  cookie?: string | undefined;
  handlerLocale?: string | null | undefined;
  acceptLanguage?: string | undefined;
}): Locale {
  return (
    matchLocale(s.query) ??
    matchLocale(s.cookie) ??
    matchLocale(s.handlerLocale) ??
    fromAcceptLanguage(s.acceptLanguage) ??
    DEFAULT_LOCALE
  );
}

export function lookup(locale: Locale, key: string): string {
  for (const catalog of [...CATALOGS[locale], ...CATALOGS.en]) {
    const found = catalog[key];
    if (found !== undefined) return found;
  }
  return key;
}

export function translator(locale: Locale): Translate {
  return (key, params) => {
    const text = lookup(locale, key);
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => String(params[name] ?? m)) : text;
  };
}

/** Dates in the reader's time zone and language; an unknown zone falls back to UTC rather than failing. */
export function dateFormatter(locale: Locale, timeZone: string): (d: Date | null) => string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  } catch {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  }
  return (d) => (d ? format.format(d) : '');
}

export type { MessageKey };
