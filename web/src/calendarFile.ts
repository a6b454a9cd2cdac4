// "Add to calendar": a fresh link to the appointment's .ics file, asked for when the customer
// chooses it (the link works without a credential for 15 minutes only, so none is kept in the page).
import type { Client } from '@urql/core';
import { problemOf, type Problem } from './errors';
import { CalendarFileQuery } from './operations';

/** The variables of CalendarFileQuery for an appointment. */
export function calendarFileVariables(id: string): { id: string } {
  return { id };
}

/**
 * The calendar file's URL as the browser should open it: a URL relative to the hub (the hub
 * serves this app) resolved against the page's origin, an absolute one kept. Null for no URL or
 * one that is not http(s).
 */
export function calendarHref(url: string | null | undefined, origin: string): string | null {
  if (!url) return null;
  let u: URL;
  try {
    u = new URL(url, origin);
  } catch {
    return null;
  }
  return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
}

export type CalendarLink = { ok: true; href: string } | { ok: false; problem: Problem };

/** Asks the hub (never the cache) for a fresh link to the appointment's calendar file. */
export async function fetchCalendarLink(client: Pick<Client, 'query'>, id: string, origin: string): Promise<CalendarLink> {
  try {
    const res = await client
      .query(CalendarFileQuery, calendarFileVariables(id), { requestPolicy: 'network-only' })
      .toPromise();
    const p = problemOf(res.error);
    if (p) return { ok: false, problem: p };
    const appointment = res.data?.appointment;
    if (!appointment) return { ok: false, problem: { code: 'NOT_FOUND', key: 'err_NOT_FOUND' } };
    const href = calendarHref(appointment.calendarFile?.url, origin);
    if (!href) return { ok: false, problem: { code: 'UNKNOWN', key: 'err_UNKNOWN' } };
    return { ok: true, href };
  } catch {
    return { ok: false, problem: { code: 'NETWORK', key: 'err_NETWORK' } };
  }
}
