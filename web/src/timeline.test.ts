import { describe, expect, it } from 'vitest';
import { dayOf, hourMarks, hourRange, layoutColumn, minutesFromMidnight, type Span } from './timeline';
import { formatTime } from './time';

const span = (id: string, start: string, end: string): Span => ({ id, start, end });

describe('timeline days', () => {
  it.each([
    ['Europe/Paris', '2027-03-27', 1440],
    ['Europe/Paris', '2027-03-28', 1380], // clocks go from 02:00 to 03:00
    ['Europe/Paris', '2027-10-31', 1500],
    ['America/New_York', '2027-03-14', 1380],
    ['America/New_York', '2027-11-07', 1500], // 01:00 to 02:00 happens twice
    ['Asia/Shanghai', '2027-03-28', 1440],
  ])('%s on %s lasts %i minutes', (tz, date, minutes) => {
    expect(dayOf(date, tz).minutes).toBe(minutes);
  });

  it('places instants by real elapsed minutes from local midnight', () => {
    const paris = dayOf('2027-03-28', 'Europe/Paris');
    expect(new Date(paris.startMs).toISOString()).toBe('2027-03-27T23:00:00.000Z');
    // 09:00 local (CEST, UTC+2) is 07:00Z: 8 real hours after midnight, not 9.
    expect(minutesFromMidnight('2027-03-28T07:00:00Z', paris)).toBe(480);
    expect(minutesFromMidnight('2027-03-27T22:30:00Z', paris)).toBe(-30);

    const ny = dayOf('2027-11-07', 'America/New_York');
    expect(new Date(ny.startMs).toISOString()).toBe('2027-11-07T04:00:00.000Z');
    // 09:00 local (EST, UTC-5) is 14:00Z: 10 real hours after midnight.
    expect(minutesFromMidnight('2027-11-07T14:00:00Z', ny)).toBe(600);
  });

  it('labels hour lines with the local time they fall on, skipping or repeating an hour on DST days', () => {
    const labels = (date: string, tz: string, from: number, to: number) =>
      hourMarks(date, tz, from, to).map((m) => `${m.minute}=${formatTime(m.instant, tz, 'en-GB')}`);
    expect(labels('2027-03-28', 'Europe/Paris', 0, 240)).toEqual(['0=00:00', '60=01:00', '120=03:00', '180=04:00', '240=05:00']);
    expect(labels('2027-11-07', 'America/New_York', 0, 180)).toEqual(['0=00:00', '60=01:00', '120=01:00', '180=02:00']);
    expect(labels('2027-03-28', 'Europe/Paris', 1320, 1380)).toEqual(['1320=23:00', '1380=00:00']);
    expect(hourMarks('2027-03-27', 'Europe/Paris', 30, 150).map((m) => m.minute)).toEqual([60, 120]);
  });
});

describe('timeline hour range', () => {
  it.each<[string, string, string, Span[], { from: number; to: number }]>([
    ['an ordinary day, nothing booked: 07:00–20:00', 'Europe/Paris', '2027-03-27', [], { from: 420, to: 1200 }],
    ['a spring-forward day: 07:00 local is 6 real hours in', 'Europe/Paris', '2027-03-28', [], { from: 360, to: 1140 }],
    ['a fall-back day: 07:00 local is 8 real hours in', 'America/New_York', '2027-11-07', [], { from: 480, to: 1260 }],
    [
      'widened to whole hours for an early and a late appointment',
      'Europe/Paris',
      '2027-03-27',
      [span('a', '2027-03-27T05:30:00Z', '2027-03-27T06:15:00Z'), span('b', '2027-03-27T19:30:00Z', '2027-03-27T20:10:00Z')],
      { from: 360, to: 1320 }, // 06:00–22:00 local (UTC+1)
    ],
    [
      'clipped to the day for appointments across midnight',
      'Europe/Paris',
      '2027-03-28',
      [span('a', '2027-03-27T22:00:00Z', '2027-03-28T00:30:00Z'), span('b', '2027-03-28T21:00:00Z', '2027-03-28T23:00:00Z')],
      { from: 0, to: 1380 },
    ],
    [
      'appointments within the default hours change nothing',
      'America/New_York',
      '2027-11-07',
      [span('a', '2027-11-07T15:00:00Z', '2027-11-07T16:00:00Z')],
      { from: 480, to: 1260 },
    ],
    [
      'an appointment of another day is ignored',
      'Europe/Paris',
      '2027-03-27',
      [span('a', '2027-03-26T03:00:00Z', '2027-03-26T04:00:00Z')],
      { from: 420, to: 1200 },
    ],
  ])('%s', (_, tz, date, spans, want) => {
    expect(hourRange(spans, date, tz)).toEqual(want);
  });
});

describe('timeline lanes', () => {
  const day = dayOf('2027-03-27', 'UTC');
  const at = (h: number, m = 0) => `2027-03-27T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00Z`;
  const lanes = (spans: Span[], min = 0) =>
    Object.fromEntries(layoutColumn(spans, day, min).map((p) => [p.item.id, `${p.lane}/${p.lanes}`]));

  it.each<[string, Span[], number, Record<string, string>]>([
    ['apart: one lane each', [span('a', at(9), at(10)), span('b', at(10), at(11))], 0, { a: '0/1', b: '0/1' }],
    ['overlapping: side by side', [span('a', at(9), at(10)), span('b', at(9, 30), at(10, 30))], 0, { a: '0/2', b: '1/2' }],
    [
      'a chain shares its lanes, a free lane is reused',
      [span('a', at(9), at(11)), span('b', at(9), at(10)), span('c', at(10), at(12)), span('d', at(13), at(14))],
      0,
      { a: '0/2', b: '1/2', c: '1/2', d: '0/1' },
    ],
    [
      'three at once',
      [span('x', at(9), at(10)), span('y', at(9), at(10)), span('z', at(9), at(10))],
      0,
      { x: '0/3', y: '1/3', z: '2/3' },
    ],
    ['short blocks drawn taller are kept apart', [span('a', at(9), at(9, 15)), span('b', at(9, 15), at(9, 30))], 25, { a: '0/2', b: '1/2' }],
  ])('%s', (_, spans, min, want) => {
    expect(lanes(spans, min)).toEqual(want);
  });

  it('clips to the day and says so', () => {
    const [p] = layoutColumn([span('a', '2027-03-26T23:00:00Z', '2027-03-27T01:00:00Z')], day);
    expect(p).toMatchObject({ start: 0, end: 60, clippedStart: true, clippedEnd: false });
    const [q] = layoutColumn([span('b', '2027-03-27T23:00:00Z', '2027-03-28T01:00:00Z')], day);
    expect(q).toMatchObject({ start: 1380, end: 1440, clippedStart: false, clippedEnd: true });
    expect(layoutColumn([span('c', '2027-03-28T01:00:00Z', '2027-03-28T02:00:00Z')], day)).toEqual([]);
  });

  it('orders by start, longer first', () => {
    const ids = layoutColumn([span('b', at(10), at(11)), span('a', at(9), at(10)), span('c', at(9), at(12))], day).map((p) => p.item.id);
    expect(ids).toEqual(['c', 'a', 'b']);
  });

  it('positions a DST day by real minutes (Paris, New York)', () => {
    const paris = dayOf('2027-03-28', 'Europe/Paris');
    const [p] = layoutColumn([span('a', '2027-03-28T07:00:00Z', '2027-03-28T08:00:00Z')], paris); // 09:00–10:00 CEST
    expect([p.start, p.end]).toEqual([480, 540]);
    const ny = dayOf('2027-11-07', 'America/New_York');
    const [q] = layoutColumn([span('b', '2027-11-07T05:30:00Z', '2027-11-07T06:30:00Z')], ny); // 01:30 EDT – 01:30 EST
    expect([q.start, q.end]).toEqual([90, 150]);
  });
});
