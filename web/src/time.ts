// Local-time helpers: the hub answers instants in UTC; the customer sees them in the place's zone.

export interface SlotLike {
  start: string;
  end: string;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsCache.set(timeZone, f);
  }
  return f;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(instant: Date, timeZone: string): WallClock {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return {
    year: out.year,
    month: out.month,
    day: out.day,
    hour: out.hour === 24 ? 0 : out.hour,
    minute: out.minute,
    second: out.second,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The local date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant: string | Date, timeZone: string): string {
  const w = wallClock(typeof instant === 'string' ? new Date(instant) : instant, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** Minutes the zone is ahead of UTC at an instant. */
export function offsetMinutes(instant: Date, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUTC = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUTC - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

/** The instant of a local wall-clock time (first occurrence; a skipped time moves forward). */
export function zonedToUtc(date: string, time: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  // Two passes settle the offset, also around DST transitions.
  let t = guess - offsetMinutes(new Date(guess), timeZone) * 60000;
  t = guess - offsetMinutes(new Date(t), timeZone) * 60000;
  return new Date(t);
}

/** Adds days to a YYYY-MM-DD date (calendar arithmetic, no time zone). */
export function addDaysToDate(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The local dates a window [from, to) covers in a zone, in order. */
export function datesInWindow(from: string, to: string, timeZone: string): string[] {
  const first = localDate(from, timeZone);
  const last = localDate(new Date(new Date(to).getTime() - 1), timeZone);
  const out: string[] = [];
  for (let d = first; d <= last && out.length < 62; d = addDaysToDate(d, 1)) out.push(d);
  return out;
}

/** Slots grouped by local date in a zone, each group sorted by start; dates in order. */
export function groupSlotsByDay<T extends SlotLike>(slots: readonly T[], timeZone: string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  const sorted = [...slots].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  for (const s of sorted) {
    const d = localDate(s.start, timeZone);
    const g = groups.get(d);
    if (g) g.push(s);
    else groups.set(d, [s]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Local time of an instant, e.g. 09:30. */
export function formatTime(instant: string, timeZone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(new Date(instant));
}

/** Weekday and day of a local date, e.g. {weekday: "Sun", day: "28 Mar"}. */
export function formatDayLabel(date: string, locale: string): { weekday: string; day: string } {
  const [y, m, d] = date.split('-').map(Number);
  const noon = new Date(Date.UTC(y, m - 1, d, 12));
  return {
    weekday: new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short' }).format(noon),
    day: new Intl.DateTimeFormat(locale, { timeZone: 'UTC', day: 'numeric', month: 'short' }).format(noon),
  };
}

/** Long local date of a YYYY-MM-DD date, e.g. "Sunday 28 March 2027". */
export function formatLongDate(date: string, locale: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(locale, {
    timeZone: 'UTC',
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

/** Date and time of an instant in a zone, e.g. "Sunday 28 March 2027, 09:00". */
export function formatDateTime(instant: string, timeZone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  }).format(new Date(instant));
}

/** An instant rounded down to the quarter hour, as RFC 3339 without fractions. */
export function floorToQuarter(now: Date): string {
  const q = 15 * 60000;
  return toRFC3339(new Date(Math.floor(now.getTime() / q) * q));
}

export function toRFC3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function addDays(instant: string, days: number): string {
  return toRFC3339(new Date(Date.parse(instant) + days * 86400000));
}

export function sameInstant(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && Date.parse(a) === Date.parse(b);
}
