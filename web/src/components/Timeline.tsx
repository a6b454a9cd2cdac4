import { useId, useMemo } from 'react';
import { useI18n, type MessageKey } from '../i18n';
import { formatTime } from '../time';
import { dayOf, hourMarks, hourRange, layoutColumn, type Span } from '../timeline';

/** Pixels per real minute: an hour is 72 px tall. */
const PX = 1.2;
/** The shortest a block is drawn (a 24 px target at least, with room for a line of text). */
const MIN_PX = 30;
const MIN_MINUTES = Math.ceil(MIN_PX / PX);

export interface TimelineAppt extends Span {
  status: string;
  category?: { name: string } | null;
  partyId?: string | null;
}

export interface TimelineColumn<T> {
  id: string;
  name: string;
  appts: T[];
}

/**
 * A day as a timeline: an hour axis in the target's local time and one column per resource,
 * each appointment a button placed by its start and end (side by side where they overlap),
 * coloured by status and saying its time, category, status and customer in words.
 */
export function Timeline<T extends TimelineAppt>({
  columns,
  date,
  timeZone,
  label,
  selected,
  onSelect,
  detailsId,
}: {
  columns: TimelineColumn<T>[];
  date: string;
  timeZone: string;
  label: string;
  selected: string | null;
  onSelect: (id: string) => void;
  /** The element showing the selected appointment (aria-controls of its block). */
  detailsId: string;
}) {
  const { t, locale } = useI18n();
  const ids = useId();
  const all = useMemo(() => columns.flatMap((c) => c.appts), [columns]);
  const day = useMemo(() => dayOf(date, timeZone), [date, timeZone]);
  const range = useMemo(() => hourRange(all, date, timeZone), [all, date, timeZone]);
  const marks = useMemo(() => {
    const ms = hourMarks(date, timeZone, range.from, range.to).map((m) => ({ ...m, label: formatTime(m.instant, timeZone, locale) }));
    // A fall-back day has the same hour twice: say which is which by its zone's name.
    const seen = new Map<string, number>();
    for (const m of ms) seen.set(m.label, (seen.get(m.label) ?? 0) + 1);
    const zoned = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
    return ms.map((m) => ((seen.get(m.label) ?? 0) > 1 ? { ...m, label: zoned.format(new Date(m.instant)) } : m));
  }, [date, timeZone, range, locale]);
  // A local time that happens twice (fall-back) says which, by its zone's name.
  const clock = (instant: string) => {
    const label = formatTime(instant, timeZone, locale);
    if (day.minutes === 24 * 60) return label;
    const t = Date.parse(instant);
    const twice = [t - 3600000, t + 3600000].some((u) => formatTime(new Date(u).toISOString(), timeZone, locale) === label);
    return twice ? new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(t) : label;
  };
  const laid = useMemo(() => columns.map((c) => ({ ...c, placed: layoutColumn(c.appts, day, MIN_MINUTES) })), [columns, day]);

  const height = (range.to - range.from) * PX;
  const y = (minute: number) => (minute - range.from) * PX;

  return (
    <div className="timeline" role="group" aria-label={label} data-testid="console-timeline">
      <div className="tl-scroll">
        <div className="tl-grid" style={{ gridTemplateColumns: `3.75rem repeat(${laid.length}, minmax(11rem, 1fr))` }}>
          <div className="tl-corner" />
          {laid.map((c, i) => (
            <h4 className="tl-colhead" id={`${ids}-col${i}`} key={c.id || '-'}>
              {c.name}
            </h4>
          ))}
          <div className="tl-axis" style={{ height }} aria-hidden="true">
            {marks.map((m) => (
              <span key={m.minute} className="tl-hour" style={{ top: y(m.minute) }}>
                {m.label}
              </span>
            ))}
          </div>
          {laid.map((c, i) => (
            <ol
              key={c.id || '-'}
              className="tl-col"
              aria-labelledby={`${ids}-col${i}`}
              style={{ height, backgroundPositionY: `${y(Math.ceil(range.from / 60) * 60)}px` }}
            >
              {c.placed.map((p) => {
                const a = p.item;
                const statusKey = `status_${a.status}` as MessageKey;
                const status = t(statusKey) === statusKey ? a.status : t(statusKey);
                const what = a.category?.name ?? '—';
                const time = `${clock(a.start)}–${clock(a.end)}`;
                const isSelected = selected === a.id;
                const top = y(p.start);
                const h = Math.max((p.end - p.start) * PX, MIN_PX);
                return (
                  <li
                    key={a.id}
                    className="tl-item"
                    style={{ top, height: h, left: `${(p.lane / p.lanes) * 100}%`, width: `${100 / p.lanes}%` }}
                  >
                    <button
                      type="button"
                      className={`tl-block status-${a.status.toLowerCase()}${isSelected ? ' selected' : ''}${p.clippedStart ? ' from-before' : ''}${p.clippedEnd ? ' goes-on' : ''}`}
                      data-testid="timeline-block"
                      data-id={a.id}
                      data-status={a.status}
                      aria-expanded={isSelected}
                      aria-controls={isSelected ? detailsId : undefined}
                      onClick={() => onSelect(a.id)}
                    >
                      <span className="tl-time">{time}</span>
                      <span className="visually-hidden">, </span> <span className="tl-what">{what}</span>
                      <span className="visually-hidden">, </span> <span className="tl-status">{status}</span>
                      {a.partyId && <span className="visually-hidden">, {t('con_blockCustomer', { customer: a.partyId })}</span>}
                    </button>
                  </li>
                );
              })}
            </ol>
          ))}
        </div>
      </div>
    </div>
  );
}
