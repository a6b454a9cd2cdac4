import type { MessageKey, Translate } from './i18n';

/** A slot as the hub recommends it (Availability.recommended). */
export interface Recommendation {
  start: string;
  end: string;
  capacity: number;
  resource?: { id: string } | null;
  reasons: readonly { code: string; message: string }[];
}

/** A recommended slot as the slot picker shows it above the grid. */
export interface RecommendedChoice {
  start: string;
  end: string;
  capacity: number;
  /** The resource to hold it with, as the hub recommends it; none for a crew job. */
  resource?: string;
  /** Why, in the reader's language: its first reason (empty when it has none). */
  reason: string;
}

/** How many the picker shows: the hub is asked for as many (recommended(first: 3)). */
export const MAX_RECOMMENDED = 3;

const REASON_KEYS: Record<string, MessageKey> = {
  NEXT_TO_ANOTHER_JOB: 'rec_NEXT_TO_ANOTHER_JOB',
  KEEPS_DAY_COMPACT: 'rec_KEEPS_DAY_COMPACT',
  EARLIEST: 'rec_EARLIEST',
  MATCHES_PREFERRED_TIME: 'rec_MATCHES_PREFERRED_TIME',
};

/** A reason in the reader's language: the hub's English message for a code this app does not know. */
export function reasonText(reason: { code: string; message: string } | undefined, t: Translate): string {
  if (!reason) return '';
  const key = REASON_KEYS[reason.code];
  return key ? t(key) : reason.message;
}

/**
 * The recommendations to show, best first as the hub ranked them: at most MAX_RECOMMENDED, none
 * that is full or the appointment's own slot (rescheduling), each once.
 */
export function recommendedChoices(
  recs: readonly Recommendation[] | null | undefined,
  t: Translate,
  current?: { start: string } | null,
): RecommendedChoice[] {
  const out: RecommendedChoice[] = [];
  const seen = new Set<number>();
  for (const r of recs ?? []) {
    const at = Date.parse(r.start);
    if (r.capacity <= 0 || seen.has(at) || (current && at === Date.parse(current.start))) continue;
    seen.add(at);
    out.push({ start: r.start, end: r.end, capacity: r.capacity, resource: r.resource?.id ?? undefined, reason: reasonText(r.reasons[0], t) });
    if (out.length === MAX_RECOMMENDED) break;
  }
  return out;
}
