// The console's day timeline, laid out in real elapsed minutes from the local midnight that
// starts the day in the target's time zone: a day is 1380, 1440 or 1500 minutes long (DST), and
// an hour line is drawn every 60 real minutes, labelled with the local time it falls on (so a
// spring-forward day skips 02:00 and a fall-back day shows 01:00 twice).
import { addDaysToDate, toRFC3339, zonedToUtc } from './time';

export interface Span {
  id: string;
  start: string;
  end: string;
}

export interface Day {
  /** The instant of the local midnight that starts the day (ms since the epoch). */
  startMs: number;
  /** Its length in minutes: 1440, or 1380 / 1500 on a DST day. */
  minutes: number;
}

export function dayOf(date: string, timeZone: string): Day {
  const startMs = zonedToUtc(date, '00:00', timeZone).getTime();
  const endMs = zonedToUtc(addDaysToDate(date, 1), '00:00', timeZone).getTime();
  return { startMs, minutes: Math.round((endMs - startMs) / 60000) };
}

/** Real minutes from the day's local midnight to an instant (negative before it). */
export function minutesFromMidnight(instant: string | number, day: Day): number {
  const t = typeof instant === 'number' ? instant : Date.parse(instant);
  return (t - day.startMs) / 60000;
}

const floorHour = (m: number) => Math.floor(m / 60) * 60;
const ceilHour = (m: number) => Math.ceil(m / 60) * 60;

/**
 * The minutes the timeline covers: 07:00 to 20:00 local by default, widened to whole hours so
 * that every span of the day shows, within the day.
 */
export function hourRange(
  spans: readonly Span[],
  date: string,
  timeZone: string,
  defaults: { from: string; to: string } = { from: '07:00', to: '20:00' },
): { from: number; to: number } {
  const day = dayOf(date, timeZone);
  let from = minutesFromMidnight(zonedToUtc(date, defaults.from, timeZone).getTime(), day);
  let to = minutesFromMidnight(zonedToUtc(date, defaults.to, timeZone).getTime(), day);
  for (const s of spans) {
    const a = Math.max(0, minutesFromMidnight(s.start, day));
    const b = Math.min(day.minutes, minutesFromMidnight(s.end, day));
    if (b <= 0 || a >= day.minutes) continue;
    from = Math.min(from, floorHour(a));
    to = Math.max(to, ceilHour(b));
  }
  return { from: Math.max(0, from), to: Math.min(day.minutes, to) };
}

export interface HourMark {
  /** Real minutes from local midnight. */
  minute: number;
  /** The instant of the line, RFC 3339 (its label is its local time). */
  instant: string;
}

/** An hour line every 60 real minutes from local midnight, from `from` to `to` inclusive. */
export function hourMarks(date: string, timeZone: string, from: number, to: number): HourMark[] {
  const day = dayOf(date, timeZone);
  const out: HourMark[] = [];
  for (let m = ceilHour(from); m <= to; m += 60) out.push({ minute: m, instant: toRFC3339(new Date(day.startMs + m * 60000)) });
  return out;
}

export interface Placed<T extends Span> {
  item: T;
  /** Real minutes from local midnight, clipped to the day. */
  start: number;
  end: number;
  /** Whether the span began the day before / goes on into the next. */
  clippedStart: boolean;
  clippedEnd: boolean;
  /** Side by side with the spans it overlaps: its lane and how many lanes its group has. */
  lane: number;
  lanes: number;
}

/**
 * Lays out one column's spans: clipped to the day, and spans that overlap (directly or through
 * others) share the width in lanes, each in the first lane free at its start. minMinutes is the
 * shortest a block is drawn: spans closer than that are kept apart too.
 */
export function layoutColumn<T extends Span>(spans: readonly T[], day: Day, minMinutes = 0): Placed<T>[] {
  const placed: Placed<T>[] = [];
  for (const item of spans) {
    const s = minutesFromMidnight(item.start, day);
    const e = Math.max(s, minutesFromMidnight(item.end, day));
    // Within the day: overlapping it, or an instant in it.
    if (!(s < day.minutes && (e > 0 || (e === s && s >= 0)))) continue;
    placed.push({ item, start: Math.max(0, s), end: Math.min(day.minutes, e), clippedStart: s < 0, clippedEnd: e > day.minutes, lane: 0, lanes: 1 });
  }
  placed.sort((a, b) => a.start - b.start || b.end - a.end || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));

  let group: Placed<T>[] = [];
  let laneEnds: number[] = [];
  let groupEnd = -Infinity;
  const close = () => {
    for (const p of group) p.lanes = laneEnds.length;
    group = [];
    laneEnds = [];
  };
  for (const p of placed) {
    const drawnEnd = Math.max(p.end, p.start + minMinutes);
    if (p.start >= groupEnd) close();
    let lane = laneEnds.findIndex((end) => end <= p.start);
    if (lane < 0) lane = laneEnds.push(drawnEnd) - 1;
    else laneEnds[lane] = drawnEnd;
    p.lane = lane;
    group.push(p);
    groupEnd = Math.max(groupEnd, drawnEnd);
  }
  close();
  return placed;
}
