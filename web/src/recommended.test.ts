import { describe, expect, it } from 'vitest';
import { translator } from './i18n';
import { recommendedChoices, reasonText, type Recommendation } from './recommended';

const rec = (start: string, reasons: { code: string; message: string }[], resource: string | null = 'tech-paris-002', capacity = 1): Recommendation => ({
  start,
  end: start.replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`),
  capacity,
  resource: resource ? { id: resource } : null,
  reasons,
});

const next = { code: 'NEXT_TO_ANOTHER_JOB', message: 'right before or after another job of the same technician' };
const earliest = { code: 'EARLIEST', message: 'on the first date with a free slot' };

describe('recommendedChoices', () => {
  const en = translator('en');

  it('keeps the hub order, the resource to hold with and the first reason, at most 3', () => {
    const got = recommendedChoices(
      [
        rec('2027-03-29T14:00:00Z', [next, earliest]),
        rec('2027-03-29T08:00:00Z', [earliest], 'tech-paris-006'),
        rec('2027-03-30T09:00:00Z', [], null),
        rec('2027-03-30T10:00:00Z', [earliest]),
      ],
      en,
    );
    expect(got.map((c) => c.start)).toEqual(['2027-03-29T14:00:00Z', '2027-03-29T08:00:00Z', '2027-03-30T09:00:00Z']);
    expect(got[0]).toEqual({ start: '2027-03-29T14:00:00Z', end: '2027-03-29T15:00:00Z', capacity: 1, resource: 'tech-paris-002', reason: en('rec_NEXT_TO_ANOTHER_JOB') });
    expect(got[1].resource).toBe('tech-paris-006');
    // A crew job's has no resource; a slot without reasons shows none.
    expect(got[2].resource).toBeUndefined();
    expect(got[2].reason).toBe('');
  });

  it('leaves out full slots, the current slot and repeats', () => {
    const got = recommendedChoices(
      [
        rec('2027-03-29T14:00:00Z', [next], 'a', 0),
        rec('2027-03-29T15:00:00Z', [next]),
        rec('2027-03-29T16:00:00.000Z', [next]),
        rec('2027-03-29T16:00:00Z', [earliest]),
      ],
      en,
      { start: '2027-03-29T15:00:00+00:00' },
    );
    expect(got.map((c) => c.start)).toEqual(['2027-03-29T16:00:00.000Z']);
  });

  it('is empty without recommendations', () => {
    expect(recommendedChoices(undefined, en)).toEqual([]);
    expect(recommendedChoices(null, en)).toEqual([]);
    expect(recommendedChoices([], en)).toEqual([]);
  });
});

describe('reasonText', () => {
  it('says each known reason in every language, and an unknown one as the hub does', () => {
    for (const lang of ['en', 'fr', 'zh'] as const) {
      const t = translator(lang);
      for (const code of ['NEXT_TO_ANOTHER_JOB', 'KEEPS_DAY_COMPACT', 'EARLIEST', 'MATCHES_PREFERRED_TIME']) {
        const text = reasonText({ code, message: 'english' }, t);
        expect(text, `${lang} ${code}`).not.toBe('english');
        expect(text, `${lang} ${code}`).toBeTruthy();
      }
      expect(reasonText({ code: 'SOMETHING_NEW', message: 'something new' }, t)).toBe('something new');
      expect(reasonText(undefined, t)).toBe('');
    }
    expect(reasonText(earliest, translator('fr'))).not.toBe(reasonText(earliest, translator('en')));
  });
});
