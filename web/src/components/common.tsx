import { useEffect, useState } from 'react';
import { useI18n } from '../i18n';
import type { Problem } from '../errors';
import { formatDateTime, formatDayLabel, formatTime, localDate, type SlotLike } from '../time';

/** The current time, refreshed every `everyMs`. */
export function useNow(everyMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs, active]);
  return now;
}

/** A random idempotency key (crypto.randomUUID is missing outside secure contexts). */
export function randomKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export interface PlaceInfo {
  zones: readonly { timeZone: string; postCodes: readonly string[] }[];
  places: readonly { id: string; timeZone: string }[];
}

/** The time zone of a postcode or managed place, from the pickers' data. */
export function timeZoneOf(place: string | null | undefined, info: PlaceInfo | undefined): string | undefined {
  if (!place || !info) return undefined;
  const p = info.places.find((x) => x.id === place);
  if (p) return p.timeZone;
  return info.zones.find((z) => z.postCodes.includes(place))?.timeZone;
}

function dayText(date: string, locale: string): string {
  const l = formatDayLabel(date, locale);
  return `${l.weekday} ${l.day}`;
}

export function ProblemText({ problem }: { problem: Problem }) {
  const { t } = useI18n();
  return <p className="problem">{t(problem.key)}</p>;
}

/** A slot as "09:00 – 10:00". */
export function SlotRange({ slot, timeZone }: { slot: SlotLike; timeZone: string }) {
  const { locale } = useI18n();
  return (
    <>
      {formatTime(slot.start, timeZone, locale)} – {formatTime(slot.end, timeZone, locale)}
    </>
  );
}

/** The refusal and the free slots nearby, each a button that picks it. */
export function Alternatives({
  problem,
  alternatives,
  timeZone,
  onChoose,
  busy,
  children,
}: {
  problem?: Problem | null;
  alternatives?: readonly SlotLike[];
  timeZone: string;
  onChoose?: (slot: SlotLike) => void;
  busy?: boolean;
  children?: React.ReactNode;
}) {
  const { t, locale } = useI18n();
  if (!problem && !alternatives?.length && !children) return null;
  return (
    <div className="alert" role="alert" data-testid="alternatives">
      {problem && <ProblemText problem={problem} />}
      {children}
      {alternatives && alternatives.length > 0 && onChoose && (
        <>
          <p>{t('alternatives')}</p>
          <ul className="alt-list">
            {alternatives.map((s) => (
              <li key={s.start}>
                <button
                  type="button"
                  className="slot"
                  disabled={busy}
                  data-start={s.start}
                  onClick={() => onChoose(s)}
                >
                  <span className="alt-date">{dayText(localDate(s.start, timeZone), locale)}</span> <SlotRange slot={s} timeZone={timeZone} />
                  <span className="visually-hidden">, {formatDateTime(s.start, timeZone, locale)}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
