import { describe, expect, it } from 'vitest';
import { DICTS, LANGS } from './i18n';
import { activeEntries, alreadyWaiting, joinWaitlistInput, openOffer, STATUS_KEYS, waitlistRange, type WaitlistEntryLike } from './waitlist';

const entry = (id: string, status: WaitlistEntryLike['status'], createdAt: string, offer?: WaitlistEntryLike['offer']): WaitlistEntryLike => ({
  id,
  place: '75011',
  status,
  from: '2027-03-29T08:00:00Z',
  to: '2027-04-12T08:00:00Z',
  createdAt,
  category: { id: 'repair', name: 'Repair at home' },
  offer: offer ?? null,
});

describe('waitlistRange', () => {
  it('starts at the next quarter hour and lasts 14 days', () => {
    const now = Date.parse('2027-03-29T08:07:31.500Z');
    expect(waitlistRange(now)).toEqual({ from: '2027-03-29T08:15:00.000Z', to: '2027-04-12T08:15:00.000Z' });
  });

  it('keeps a quarter hour as it is', () => {
    const now = Date.parse('2027-03-29T08:30:00Z');
    expect(waitlistRange(now, 1)).toEqual({ from: '2027-03-29T08:30:00.000Z', to: '2027-03-30T08:30:00.000Z' });
  });

  it('makes the input of what was searched', () => {
    const now = Date.parse('2027-03-29T23:50:00Z');
    expect(joinWaitlistInput({ category: 'repair', place: '75011' }, now)).toEqual({
      category: 'repair',
      place: '75011',
      from: '2027-03-30T00:00:00.000Z',
      to: '2027-04-13T00:00:00.000Z',
    });
  });
});

describe('openOffer', () => {
  const offer = { id: 'o1', start: '2027-03-30T09:00:00Z', end: '2027-03-30T10:00:00Z', expiresAt: '2027-03-29T08:15:00Z' };

  it('is the open offer until it expires', () => {
    const e = entry('a', 'OFFERED', '2027-03-29T08:00:00Z', offer);
    expect(openOffer(e, Date.parse('2027-03-29T08:14:59Z'))).toEqual(offer);
    expect(openOffer(e, Date.parse('2027-03-29T08:15:00Z'))).toBeNull();
  });

  it('is none for an entry that is not offered anything', () => {
    expect(openOffer(entry('a', 'WAITING', '2027-03-29T08:00:00Z'), 0)).toBeNull();
    expect(openOffer(entry('a', 'BOOKED', '2027-03-29T08:00:00Z', offer), 0)).toBeNull();
  });
});

describe('activeEntries', () => {
  it('keeps waiting and offered entries, offers first, then newest first', () => {
    const got = activeEntries([
      entry('old', 'WAITING', '2027-03-01T08:00:00Z'),
      entry('left', 'LEFT', '2027-03-02T08:00:00Z'),
      entry('new', 'WAITING', '2027-03-03T08:00:00Z'),
      entry('offered', 'OFFERED', '2027-02-01T08:00:00Z'),
      entry('booked', 'BOOKED', '2027-03-04T08:00:00Z'),
      entry('expired', 'EXPIRED', '2027-03-05T08:00:00Z'),
    ]);
    expect(got.map((e) => e.id)).toEqual(['offered', 'new', 'old']);
  });

  it('is empty without entries', () => {
    expect(activeEntries(undefined)).toEqual([]);
    expect(activeEntries(null)).toEqual([]);
  });

  it('tells whether the search is waited for already', () => {
    const list = [entry('a', 'WAITING', '2027-03-01T08:00:00Z'), { ...entry('b', 'LEFT', '2027-03-01T08:00:00Z'), place: '75012' }];
    expect(alreadyWaiting(list, { category: 'repair', place: '75011' })).toBe(true);
    expect(alreadyWaiting(list, { category: 'repair', place: '75012' })).toBe(false);
    expect(alreadyWaiting(list, { category: 'installation', place: '75011' })).toBe(false);
  });
});

describe('status words', () => {
  it('say every status in every language', () => {
    for (const lang of LANGS) {
      for (const key of Object.values(STATUS_KEYS)) expect(DICTS[lang][key], `${lang}.${key}`).toBeTruthy();
    }
  });
});
