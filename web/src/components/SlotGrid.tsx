import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { AvailabilityQuery, AvailabilitySubscription } from '../operations';
import type { AvailabilityQuery as AvailabilityData } from '../gql/graphql';
import { useI18n } from '../i18n';
import { errorMessageKey, problemOf } from '../errors';
import {
  addDays,
  datesInWindow,
  floorToQuarter,
  formatDateTime,
  formatDayLabel,
  formatLongDate,
  localDate,
  sameInstant,
  toRFC3339,
  zonedToUtc,
} from '../time';
import { ProblemText, SlotRange } from './common';
import { recommendedChoices } from '../recommended';
import { RecommendedSlots } from './RecommendedSlots';

/** A slot to hold: a grid's (any resource), or a recommended one with the resource it is best with. */
export type Slot = { start: string; end: string; capacity: number; resource?: string };
type Availability = AvailabilityData['availability'];

const WINDOW_DAYS = 14;

/**
 * A live 14-day slot grid of a category at a place: fetched once over HTTP, then kept current by
 * the availabilityChanged subscription with the same input.
 */
export function SlotGrid({
  category,
  place,
  resource,
  current,
  onChoose,
  busy,
}: {
  category: string;
  place: string;
  /** Only this resource's slots (rescheduling keeps the technician). */
  resource?: string;
  /** The slot the appointment has now (rescheduling): marked, not choosable. */
  current?: { start: string; end: string };
  onChoose: (slot: Slot, timeZone: string) => void;
  busy?: boolean;
}) {
  const { t, locale } = useI18n();
  const [from, setFrom] = useState(() => floorToQuarter(new Date()));
  const input = useMemo(
    () => ({ category, place, resource, from, to: addDays(from, WINDOW_DAYS) }),
    [category, place, resource, from],
  );
  const [q] = useQuery({ query: AvailabilityQuery, variables: { input }, requestPolicy: 'network-only' });
  const [sub] = useSubscription({ query: AvailabilitySubscription, variables: { input } });

  // The subscription's answer wins once it came for this window.
  const live = sub.data?.availabilityChanged;
  const data: Availability | undefined = live ?? q.data?.availability;
  const problem = data ? null : problemOf(q.error ?? sub.error);

  const tz = data?.timeZone ?? 'UTC';
  // 14 × 24 hours from now touch a 15th date: the grid shows today and the 13 days after it.
  const dates = useMemo(() => (data ? datesInWindow(input.from, input.to, tz).slice(0, WINDOW_DAYS) : []), [data, input, tz]);
  const byDate = useMemo(() => {
    const m = new Map<string, Slot[]>();
    for (const d of data?.days ?? []) m.set(d.date, [...d.slots]);
    // The appointment's own slot is not free: show it, marked, among the others.
    if (current && data) {
      const d = localDate(current.start, data.timeZone);
      const list = m.get(d) ?? [];
      if (!list.some((s) => sameInstant(s.start, current.start))) list.push({ ...current, capacity: 0 });
      m.set(d, list);
    }
    for (const list of m.values()) list.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    return m;
  }, [data, current]);

  const [chosenDate, setChosenDate] = useState<string | null>(null);
  const firstWithSlots = dates.find((d) => (byDate.get(d)?.length ?? 0) > 0) ?? null;
  const selected = chosenDate && dates.includes(chosenDate) ? chosenDate : firstWithSlots ?? dates[0] ?? null;
  const slots = selected ? byDate.get(selected) ?? [] : [];
  const anySlot = firstWithSlots !== null;

  const pendingJump = useRef<string | null>(null);
  useEffect(() => {
    if (pendingJump.current && dates.includes(pendingJump.current)) {
      setChosenDate(pendingJump.current);
      pendingJump.current = null;
    }
  }, [dates]);

  function jump(date: string) {
    if (dates.includes(date)) {
      setChosenDate(date);
      return;
    }
    // Outside the window: move the window to start on that day (not before now).
    const start = zonedToUtc(date, '00:00', tz);
    const now = floorToQuarter(new Date());
    pendingJump.current = date;
    setChosenDate(date);
    setFrom(start.getTime() < Date.parse(now) ? now : toRFC3339(start));
  }

  if (!data) {
    if (problem) return <div className="alert" role="alert" data-testid="alternatives"><ProblemText problem={problem} /></div>;
    return <p aria-live="polite">{t('loading')}</p>;
  }

  const nextDatesInfo = (dates: readonly string[]) =>
    dates.length > 0 && (
      <div className="next-dates">
        <p>{t('nextDates')}</p>
        <ul className="chips">
          {dates.map((d) => (
            <li key={d}>
              <button type="button" onClick={() => jump(d)}>
                {formatLongDate(d, locale)}
              </button>
            </li>
          ))}
        </ul>
      </div>
    );

  const recommended = recommendedChoices(data.recommended, t, current);
  const laterInWindow = selected ? dates.filter((d) => d > selected && (byDate.get(d)?.length ?? 0) > 0).slice(0, 3) : [];

  return (
    <section className="grid" aria-label={t('days')}>
      <p className="tz">
        {t('timesIn', { zone: tz.replace(/_/g, ' ') })} <span className="muted">{t('liveNote')}</span>
      </p>
      <RecommendedSlots choices={recommended} timeZone={tz} busy={busy} onChoose={(s) => onChoose(s, tz)} />
      <div className="day-strip" role="tablist" aria-label={t('days')}>
        {dates.map((d) => {
          const label = formatDayLabel(d, locale);
          const n = byDate.get(d)?.length ?? 0;
          return (
            <button
              key={d}
              type="button"
              role="tab"
              id={`tab-${d}`}
              aria-selected={d === selected}
              aria-controls="slot-panel"
              className={`day${n === 0 ? ' empty' : ''}`}
              data-testid={`day-${d}`}
              data-empty={n === 0 ? 'true' : undefined}
              onClick={() => setChosenDate(d)}
            >
              {/* The short date is what shows; its name, read out, is the long one. */}
              <span className="wd" aria-hidden="true">{label.weekday}</span>
              <span className="dm" aria-hidden="true">{label.day}</span>
              <span className="visually-hidden">{`${formatLongDate(d, locale)}${n === 0 ? ` — ${t('noSlotsDay')}` : ''}`}</span>
            </button>
          );
        })}
      </div>
      <div id="slot-panel" role="tabpanel" aria-labelledby={selected ? `tab-${selected}` : undefined} className="slot-panel">
        {selected && <h3>{t('slotsOf', { date: formatLongDate(selected, locale) })}</h3>}
        {slots.length > 0 ? (
          <ul className="slots">
            {slots.map((s) => {
              const isCurrent = sameInstant(s.start, current?.start);
              return (
                <li key={s.start}>
                  <button
                    type="button"
                    className={`slot${isCurrent ? ' current' : ''}`}
                    data-testid="slot"
                    data-start={s.start}
                    disabled={busy || isCurrent}
                    aria-current={isCurrent ? 'true' : undefined}
                    onClick={() => onChoose(s, tz)}
                  >
                    <SlotRange slot={s} timeZone={tz} />
                    {/* Read out: the times shown, then the day they are on. */}
                    <span className="visually-hidden">, {formatDateTime(s.start, tz, locale)}</span>
                    {isCurrent && <span className="tag"> ({t('current')})</span>}
                  </button>
                </li>
              );
            })}
          </ul>
        ) : (
          <div className="empty-info" aria-live="polite">
            <p>{anySlot ? t('noSlotsDay') : t('noSlotsWindow')}</p>
            {!anySlot && data.reasons.length > 0 && (
              <ul className="reasons">
                {data.reasons.map((r) => {
                  const key = errorMessageKey(r.code);
                  return <li key={r.code + r.message}>{key === 'err_UNKNOWN' ? r.message : t(key)}</li>;
                })}
              </ul>
            )}
            {nextDatesInfo(anySlot ? laterInWindow : data.nextDates)}
          </div>
        )}
      </div>
    </section>
  );
}
