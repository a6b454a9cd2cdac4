import type { MessageKey } from './i18n';

/** How far ahead "Join the waitlist" waits from the search page: the next 14 days. */
export const WAITLIST_DAYS = 14;

const QUARTER_MS = 15 * 60 * 1000;

/**
 * The range a search page's waitlist entry waits for: from now, up to the next quarter hour (the
 * hub's slots start on quarter hours), for WAITLIST_DAYS days.
 */
export function waitlistRange(now: number, days = WAITLIST_DAYS): { from: string; to: string } {
  const from = Math.ceil(now / QUARTER_MS) * QUARTER_MS;
  return { from: new Date(from).toISOString(), to: new Date(from + days * 24 * 60 * 60 * 1000).toISOString() };
}

/** joinWaitlist's input for what the page searched. */
export function joinWaitlistInput(search: { category: string; place: string }, now: number) {
  return { category: search.category, place: search.place, ...waitlistRange(now) };
}

export type WaitlistStatus = 'WAITING' | 'OFFERED' | 'BOOKED' | 'LEFT' | 'EXPIRED';

/** A waitlist entry as "My waitlist" reads it. */
export interface WaitlistEntryLike {
  id: string;
  place: string;
  status: WaitlistStatus;
  from: string;
  to: string;
  createdAt: string;
  category?: { id: string; name: string } | null;
  offer?: { id: string; start: string; end: string; expiresAt: string } | null;
}

export const STATUS_KEYS: Record<WaitlistStatus, MessageKey> = {
  WAITING: 'wl_WAITING',
  OFFERED: 'wl_OFFERED',
  BOOKED: 'wl_BOOKED',
  LEFT: 'wl_LEFT',
  EXPIRED: 'wl_EXPIRED',
};

/** The offer the customer can still answer: open and not expired at now. */
export function openOffer<E extends WaitlistEntryLike>(e: E, now: number): NonNullable<E['offer']> | null {
  if (e.status !== 'OFFERED' || !e.offer) return null;
  return Date.parse(e.offer.expiresAt) > now ? (e.offer as NonNullable<E['offer']>) : null;
}

/**
 * The entries "My waitlist" shows: those still in play (waiting or offered), offers first, then
 * newest first; entries left, booked or expired are history and are left out.
 */
export function activeEntries<E extends WaitlistEntryLike>(entries: readonly E[] | null | undefined): E[] {
  const rank = (e: E) => (e.status === 'OFFERED' ? 0 : 1);
  return (entries ?? [])
    .filter((e) => e.status === 'WAITING' || e.status === 'OFFERED')
    .slice()
    .sort((a, b) => rank(a) - rank(b) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/** Whether the customer already waits for this category at this place (no second entry is offered). */
export function alreadyWaiting(entries: readonly WaitlistEntryLike[] | null | undefined, search: { category: string; place: string }): boolean {
  return activeEntries(entries).some((e) => e.category?.id === search.category && e.place === search.place);
}
