import { describe, expect, it } from 'vitest';
import { fromAcceptLanguage, lookup, matchLocale, resolveLocale, translator } from '../../src/web/i18n.js';
import { en } from '../../src/web/locales/en.js';
import { zhCN } from '../../src/web/locales/zh-CN.js';

describe('web i18n', () => {
  it('when a language is chosen with ?lang, then it wins over the cookie, the handler’s locale and the browser', () => {
    expect(
      resolveLocale({ query: 'en', cookie: 'zh-CN', handlerLocale: 'zh-CN', acceptLanguage: 'zh' }),
    ).toBe('en');
  });

  it('when nothing is chosen, then the remembered cookie, then the handler’s locale, then Accept-Language decide', () => {
    expect(resolveLocale({ cookie: 'zh-CN', handlerLocale: 'en', acceptLanguage: 'en' })).toBe('zh-CN');
    expect(resolveLocale({ handlerLocale: 'en', acceptLanguage: 'zh-CN' })).toBe('en');
    expect(resolveLocale({ acceptLanguage: 'fr-FR,zh-TW;q=0.8,en;q=0.5' })).toBe('zh-CN');
    expect(resolveLocale({ query: 'xx', cookie: 'de', handlerLocale: 'fr' })).toBe('en');
  });

  it('when Accept-Language has weights, then the heaviest supported language is taken', () => {
    expect(fromAcceptLanguage('en;q=0.4, zh-Hans-CN;q=0.9')).toBe('zh-CN');
    expect(fromAcceptLanguage('de, en-GB;q=0.7')).toBe('en');
    expect(fromAcceptLanguage('*')).toBeNull();
    expect(fromAcceptLanguage('zh;q=0, en;q=0.1')).toBe('en');
    expect(matchLocale('ZH-cn')).toBe('zh-CN');
  });

  it('when a key is missing in zh-CN, then English is used, and an unknown key shows itself', () => {
    expect(lookup('zh-CN', 'no.such.key')).toBe('no.such.key');
    expect(translator('zh-CN')('inbox.count', { n: 3 })).toBe('共 3 件未办结事项');
    expect(translator('en')('inbox.count', { n: 3 })).toBe('3 open matters');
    expect(translator('en')('inbox.why.standIn', {})).toBe('Standing in for {name}');
  });

  it('has every English string in Chinese, and none left in English by mistake', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
    const untranslated = Object.entries(zhCN).filter(
      ([key, text]) => text === en[key as keyof typeof en] && !/^(app\.name)$/.test(key),
    );
    expect(untranslated).toEqual([]);
  });
});
