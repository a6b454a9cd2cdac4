import { describe, expect, it } from 'vitest';
import { DICTS, HTML_LANGS, LANG_NAMES, LANGS, LOCALES, SKIP_TO_CONTENT, translator, type MessageKey } from './i18n';
import { formatDateTime, formatDayLabel, formatLongDate, formatTime } from './time';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('have exactly the English keys in every language', () => {
    const keys = Object.keys(DICTS.en).sort();
    for (const lang of LANGS) {
      expect(Object.keys(DICTS[lang]).sort(), lang).toEqual(keys);
      expect(LANG_NAMES[lang], lang).toBeTruthy();
      expect(LOCALES[lang], lang).toBeTruthy();
      expect(HTML_LANGS[lang], lang).toBeTruthy();
      expect(SKIP_TO_CONTENT[lang], lang).toBeTruthy();
    }
  });

  it('keep the English placeholders in every message', () => {
    for (const lang of LANGS) {
      for (const key of Object.keys(DICTS.en) as MessageKey[]) {
        expect(placeholders(DICTS[lang][key]), `${lang}.${key}`).toEqual(placeholders(DICTS.en[key]));
      }
    }
  });

  it('offers Simplified Chinese', () => {
    expect(LANGS).toContain('zh');
    expect(LANG_NAMES.zh).toBe('中文');
    expect(LOCALES.zh).toBe('zh-CN');
    expect(translator('zh')('signedInAs', { party: 'cust-1' })).toBe('已登录：cust-1');
  });

  it('formats dates and times in zh-CN', () => {
    expect(formatDayLabel('2027-03-28', 'zh-CN').weekday).toBe('周日');
    expect(formatLongDate('2027-03-28', 'zh-CN')).toContain('2027年3月28日');
    expect(formatTime('2027-03-28T08:30:00Z', 'Europe/Paris', 'zh-CN')).toBe('10:30');
    expect(formatDateTime('2027-03-28T08:30:00Z', 'Europe/Paris', 'zh-CN')).toContain('2027年3月28日');
  });
});
