import { useId } from 'react';
import { useI18n } from '../i18n';
import type { RecommendedChoice } from '../recommended';
import { formatDateTime, formatDayLabel, localDate } from '../time';
import { SlotRange } from './common';

/**
 * The hub's best slots above the grid (Availability.recommended), each with why: a click holds it
 * as a click in the grid would, with the resource the hub recommends it with.
 */
export function RecommendedSlots({
  choices,
  timeZone,
  onChoose,
  busy,
}: {
  choices: readonly RecommendedChoice[];
  timeZone: string;
  onChoose: (slot: RecommendedChoice) => void;
  busy?: boolean;
}) {
  const { t, locale } = useI18n();
  const id = useId();
  if (choices.length === 0) return null;
  return (
    <section className="recommended" aria-labelledby={id}>
      <h3 id={id}>{t('recommendedTitle')}</h3>
      <ul className="recommended-list">
        {choices.map((c) => {
          const day = formatDayLabel(localDate(c.start, timeZone), locale);
          return (
            <li key={c.start}>
              <button
                type="button"
                className="slot recommended-slot"
                data-testid="recommended-slot"
                data-recommended-start={c.start}
                disabled={busy}
                onClick={() => onChoose(c)}
              >
                <span className="rec-when">
                  <span className="alt-date">{`${day.weekday} ${day.day}`}</span> <SlotRange slot={c} timeZone={timeZone} />
                </span>
                <span className="visually-hidden">, {formatDateTime(c.start, timeZone, locale)}</span>
                {c.reason && <span className="rec-reason">{c.reason}</span>}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
