import { describe, expect, it } from 'vitest';
import {
  addDays,
  datesInWindow,
  floorToQuarter,
  formatDayLabel,
  formatTime,
  groupSlotsByDay,
  localDate,
  offsetMinutes,
  zonedToUtc,
} from './time';

const PARIS = 'Europe/Paris';

describe('local dates', () => {
  it('gives the local date of an instant', () => {
    expect(localDate('2026-12-01T23:30:00Z', PARIS)).toBe('2026-12-02');
    expect(localDate('2026-12-01T22:59:00Z', PARIS)).toBe('2026-12-01');
    expect(localDate('2026-12-02T03:00:00Z', 'America/New_York')).toBe('2026-12-01');
    expect(localDate('2026-12-01T16:00:00Z', 'Asia/Shanghai')).toBe('2026-12-02');
  });

  it('knows the offset on both sides of the DST change in Paris (2027-03-28)', () => {
    expect(offsetMinutes(new Date('2027-03-28T00:59:00Z'), PARIS)).toBe(60);
    expect(offsetMinutes(new Date('2027-03-28T01:00:00Z'), PARIS)).toBe(120);
  });

  it('turns local midnights into instants across DST', () => {
    expect(zonedToUtc('2027-03-28', '00:00', PARIS).toISOString()).toBe('2027-03-27T23:00:00.000Z');
    expect(zonedToUtc('2027-03-29', '00:00', PARIS).toISOString()).toBe('2027-03-28T22:00:00.000Z');
    expect(zonedToUtc('2027-03-28', '03:00', PARIS).toISOString()).toBe('2027-03-28T01:00:00.000Z');
    expect(zonedToUtc('2027-10-31', '12:00', PARIS).toISOString()).toBe('2027-10-31T11:00:00.000Z');
  });
});

describe('groupSlotsByDay', () => {
  it('groups the slots of a DST day in Europe/Paris by local day, in order', () => {
    const slots = [
      { start: '2027-03-28T08:00:00Z', end: '2027-03-28T09:00:00Z' }, // 10:00 CEST
      { start: '2027-03-28T00:30:00Z', end: '2027-03-28T01:30:00Z' }, // 01:30 CET
      { start: '2027-03-27T23:00:00Z', end: '2027-03-28T00:00:00Z' }, // 00:00 CET on the 28th
      { start: '2027-03-27T22:30:00Z', end: '2027-03-27T23:30:00Z' }, // 23:30 CET on the 27th
      { start: '2027-03-28T21:30:00Z', end: '2027-03-28T22:30:00Z' }, // 23:30 CEST on the 28th
      { start: '2027-03-28T22:00:00Z', end: '2027-03-28T23:00:00Z' }, // 00:00 CEST on the 29th
    ];
    const g = groupSlotsByDay(slots, PARIS);
    expect([...g.keys()]).toEqual(['2027-03-27', '2027-03-28', '2027-03-29']);
    expect(g.get('2027-03-28')!.map((s) => formatTime(s.start, PARIS, 'fr-FR'))).toEqual([
      '00:00',
      '01:30',
      '10:00',
      '23:30',
    ]);
    expect(g.get('2027-03-27')!.length).toBe(1);
    expect(g.get('2027-03-29')!.length).toBe(1);
  });

  it('formats the hour after the gap as 03:00', () => {
    expect(formatTime('2027-03-28T01:00:00Z', PARIS, 'fr-FR')).toBe('03:00');
    expect(formatTime('2027-03-28T00:59:00Z', PARIS, 'fr-FR')).toBe('01:59');
  });
});

describe('windows', () => {
  it('lists the 14 local days of a window, DST included', () => {
    const from = '2027-03-20T09:00:00Z';
    const days = datesInWindow(from, addDays(from, 14), PARIS);
    expect(days.length).toBe(15); // from 10:00 on the 20th to 10:00 on 3 April: 15 calendar days touched
    expect(days[0]).toBe('2027-03-20');
    expect(days).toContain('2027-03-28');
    expect(days[days.length - 1]).toBe('2027-04-03');
    // 14 × 24 h from a local midnight: 14 days, or 15 when the clocks go forward in between.
    const jan = zonedToUtc('2027-01-04', '00:00', PARIS).toISOString();
    expect(datesInWindow(jan, addDays(jan, 14), PARIS)).toHaveLength(14);
    const mar = zonedToUtc('2027-03-21', '00:00', PARIS).toISOString();
    expect(datesInWindow(mar, addDays(mar, 14), PARIS)).toHaveLength(15);
  });

  it('rounds now down to the quarter hour', () => {
    expect(floorToQuarter(new Date('2026-12-01T12:07:42.123Z'))).toBe('2026-12-01T12:00:00Z');
    expect(floorToQuarter(new Date('2026-12-01T12:45:00.000Z'))).toBe('2026-12-01T12:45:00Z');
  });

  it('labels a day with its weekday', () => {
    expect(formatDayLabel('2027-03-28', 'en-GB')).toEqual({ weekday: 'Sun', day: '28 Mar' });
    expect(formatDayLabel('2027-03-28', 'fr-FR').weekday).toBe('dim.');
  });
});
