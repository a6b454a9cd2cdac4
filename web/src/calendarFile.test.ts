import { describe, expect, it } from 'vitest';
import { CombinedError, type Client } from '@urql/core';
import { GraphQLError } from 'graphql';
import { calendarFileVariables, calendarHref, fetchCalendarLink } from './calendarFile';

const ORIGIN = 'https://hub.example.com';

/** A client whose one query answers `result` (or throws), recording what it was asked. */
function stubClient(result: unknown, calls: unknown[][] = []): Pick<Client, 'query'> {
  return {
    query: ((...args: unknown[]) => {
      calls.push(args);
      return {
        toPromise: () => (result instanceof Error ? Promise.reject(result) : Promise.resolve(result)),
      };
    }) as unknown as Client['query'],
  };
}

describe('calendarHref', () => {
  it('resolves a URL relative to the hub against the page origin', () => {
    expect(calendarHref('/calendar/abc.ics', ORIGIN)).toBe('https://hub.example.com/calendar/abc.ics');
    expect(calendarHref('/calendar/abc.ics', 'http://localhost:5173')).toBe('http://localhost:5173/calendar/abc.ics');
  });

  it('keeps an absolute URL (the hub knows its public URL)', () => {
    expect(calendarHref('https://book.example.org/calendar/abc.ics', ORIGIN)).toBe('https://book.example.org/calendar/abc.ics');
    expect(calendarHref('http://127.0.0.1:8080/calendar/abc.ics', ORIGIN)).toBe('http://127.0.0.1:8080/calendar/abc.ics');
  });

  it('refuses no URL and other schemes', () => {
    expect(calendarHref('', ORIGIN)).toBeNull();
    expect(calendarHref(undefined, ORIGIN)).toBeNull();
    expect(calendarHref(null, ORIGIN)).toBeNull();
    expect(calendarHref('javascript:alert(1)', ORIGIN)).toBeNull();
    expect(calendarHref('data:text/calendar,BEGIN', ORIGIN)).toBeNull();
  });
});

describe('fetchCalendarLink', () => {
  it('asks the hub, not the cache, for the appointment given', async () => {
    const calls: unknown[][] = [];
    const client = stubClient({ data: { appointment: { id: 'a1', calendarFile: { url: '/calendar/t1.ics' } } } }, calls);
    expect(calendarFileVariables('a1')).toEqual({ id: 'a1' });
    await expect(fetchCalendarLink(client, 'a1', ORIGIN)).resolves.toEqual({
      ok: true,
      href: 'https://hub.example.com/calendar/t1.ics',
    });
    expect(calls).toHaveLength(1);
    expect(calls[0][1]).toEqual({ id: 'a1' });
    expect(calls[0][2]).toEqual({ requestPolicy: 'network-only' });
  });

  it('words GraphQL errors with the app’s messages', async () => {
    const error = new CombinedError({ graphQLErrors: [new GraphQLError('no', { extensions: { code: 'FORBIDDEN' } })] });
    await expect(fetchCalendarLink(stubClient({ error }), 'a1', ORIGIN)).resolves.toEqual({
      ok: false,
      problem: { code: 'FORBIDDEN', key: 'err_FORBIDDEN', field: undefined },
    });
  });

  it('says an unreachable hub as the app does', async () => {
    const error = new CombinedError({ networkError: new TypeError('Failed to fetch') });
    const r = await fetchCalendarLink(stubClient({ error }), 'a1', ORIGIN);
    expect(r.ok || r.problem.key).toBe('err_NETWORK');
    const thrown = await fetchCalendarLink(stubClient(new Error('boom')), 'a1', ORIGIN);
    expect(thrown.ok || thrown.problem.key).toBe('err_NETWORK');
  });

  it('treats a missing appointment or an unusable link as failures', async () => {
    const missing = await fetchCalendarLink(stubClient({ data: { appointment: null } }), 'a1', ORIGIN);
    expect(missing.ok || missing.problem.key).toBe('err_NOT_FOUND');
    const bad = await fetchCalendarLink(
      stubClient({ data: { appointment: { id: 'a1', calendarFile: { url: 'javascript:void(0)' } } } }),
      'a1',
      ORIGIN,
    );
    expect(bad.ok || bad.problem.key).toBe('err_UNKNOWN');
  });
});
