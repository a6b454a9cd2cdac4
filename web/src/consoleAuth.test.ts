import { describe, expect, it } from 'vitest';
import { consoleSessionFromViewer, decodeJwtPayload, readToken } from './consoleAuth';
import { ACTIONS_FROM, mergeAppointments, type Appt } from './components/ConsolePage';
import { consoleMessageKey, errorMessageKey } from './errors';
import { DICTS } from './i18n';
import type { Viewer } from './viewer';

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function jwt(payload: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.c2ln`;
}
const NOW = Date.parse('2027-03-28T08:00:00Z');
const later = NOW / 1000 + 3600;

describe('console tokens', () => {
  it('decodes a JWT payload (base64url, UTF-8) and refuses what is not one', () => {
    expect(decodeJwtPayload(jwt({ sub: 'agent-é', roles: ['agent'] }))).toEqual({ sub: 'agent-é', roles: ['agent'] });
    expect(decodeJwtPayload('not.a.token')).toBeNull();
    expect(decodeJwtPayload('abc')).toBeNull();
    expect(decodeJwtPayload(`x.${b64url('[1]')}.y`)).toBeNull();
  });

  // Only what needs no hub is checked here; roles are the hub's answer (viewer), whatever the token says.
  it.each<[string, string, ReturnType<typeof readToken>]>([
    ['an agent token, "Bearer" dropped', `Bearer ${jwt({ sub: 'agent-1', roles: ['agent'], exp: later })}`, { ok: true, token: jwt({ sub: 'agent-1', roles: ['agent'], exp: later }), expiresAt: new Date(later * 1000).toISOString() }],
    ['a customer token (the hub refuses it, not the page)', jwt({ sub: 'cust-1', roles: ['customer'], exp: later }), { ok: true, token: jwt({ sub: 'cust-1', roles: ['customer'], exp: later }), expiresAt: new Date(later * 1000).toISOString() }],
    ['a token that does not expire', jwt({ sub: 'ops' }), { ok: true, token: jwt({ sub: 'ops' }), expiresAt: null }],
    ['an expired token', jwt({ sub: 'agent-1', roles: ['agent'], exp: NOW / 1000 - 1 }), { ok: false, key: 'con_tokenExpired' }],
    ['garbage', 'hello', { ok: false, key: 'con_tokenMalformed' }],
    ['nothing', '   ', { ok: false, key: 'con_tokenRequired' }],
  ])('reads %s', (_, raw, want) => {
    expect(readToken(raw, NOW)).toEqual(want);
  });
});

function viewer(roles: string[], more: Partial<Viewer> = {}): Viewer {
  return { partyId: 'p-1', roles, resources: [], places: [], parties: [], expiresAt: null, ...more };
}

describe('console session from the hub\'s viewer', () => {
  const exp = '2027-03-28T09:00:00.000Z';
  it.each<[string, Viewer | null, 'token' | 'oidc', string | null]>([
    ['an agent', viewer(['agent'], { resources: ['tech-paris-001'], places: ['store-lyon'] }), 'oidc', null],
    ['an admin', viewer(['admin']), 'token', null],
    ['an agent who is a customer too', viewer(['customer', 'agent']), 'oidc', null],
    ['a customer, signed in at the provider', viewer(['customer']), 'oidc', 'con_notAgent'],
    ['a customer, pasted', viewer(['customer']), 'token', 'con_notAgent'],
    ['a partner', viewer(['partner']), 'token', 'con_notAgent'],
    ['nobody (the hub did not recognise the token)', null, 'token', 'con_tokenRefused'],
  ])('%s', (_, v, via, refusal) => {
    const got = consoleSessionFromViewer('tok', v, exp, via, via === 'oidc' ? 'sub-1' : undefined);
    if (refusal) {
      expect(got).toEqual({ ok: false, key: refusal });
      return;
    }
    expect(got.ok).toBe(true);
    if (!got.ok || !v) return;
    expect(got.session).toEqual({
      token: 'tok',
      partyId: 'p-1',
      roles: v.roles,
      resources: v.resources,
      places: v.places,
      expiresAt: exp,
      via,
      ...(via === 'oidc' ? { subject: 'sub-1' } : {}),
    });
  });

  it.each<[string, string | null, string | null, string | null]>([
    ['the token\'s own end first', exp, '2027-03-28T10:00:00Z', exp],
    ['else the hub\'s', null, '2027-03-28T10:00:00Z', '2027-03-28T10:00:00Z'],
    ['else none', null, null, null],
  ])('takes its end: %s', (_, own, hubs, want) => {
    const got = consoleSessionFromViewer('tok', viewer(['agent'], { expiresAt: hubs }), own, 'token');
    expect(got.ok && got.session.expiresAt).toBe(want);
  });
});

function appt(id: string, version: number, status = 'INITIALIZED'): Appt {
  return {
    id, version, status: status as Appt['status'], statusReason: null, start: '2027-03-28T08:00:00Z', end: '2027-03-28T09:00:00Z',
    place: '75011', partyId: 'cust-1', category: { name: 'Install' },
    resource: { id: 'tech-paris-001', place: null }, contactMedia: [],
  };
}

describe('console state', () => {
  it('keeps the newest version of each appointment', () => {
    const a = mergeAppointments(new Map(), [appt('a', 1), appt('b', 2)]);
    const b = mergeAppointments(a, [appt('a', 3, 'CONFIRMED'), appt('b', 1, 'CANCELLED')]);
    expect(b.get('a')?.status).toBe('CONFIRMED');
    expect(b.get('b')?.version).toBe(2);
    expect(mergeAppointments(b, [appt('a', 2)])).toBe(b);
    const deleted = mergeAppointments(b, [{ ...appt('a', 3, 'CONFIRMED'), deleted: true }]);
    expect(deleted.get('a')?.deleted).toBe(true);
    expect(mergeAppointments(deleted, [appt('a', 3, 'CONFIRMED')])).toBe(deleted);
  });

  it('offers the actions the status machine allows', () => {
    expect(ACTIONS_FROM.confirm).toEqual(['INITIALIZED']);
    expect(ACTIONS_FROM.complete).toEqual(['CONFIRMED']);
    expect(ACTIONS_FROM.fail).toEqual(['CONFIRMED']);
  });

  it('words refusals for agents', () => {
    expect(errorMessageKey('STALE_VERSION')).toBe('err_VERSION_CONFLICT');
    expect(errorMessageKey('CONFLICT')).toBe('err_CONFLICT');
    for (const code of ['VERSION_CONFLICT', 'STALE_VERSION', 'CONFLICT', 'FORBIDDEN', 'INVALID_TRANSITION', 'NOT_FOUND']) {
      const key = consoleMessageKey({ code, key: errorMessageKey(code) });
      expect(key.startsWith('con_err_'), code).toBe(true);
      expect(DICTS.fr[key]).toBeTruthy();
    }
    expect(consoleMessageKey({ code: 'RATE_LIMITED', key: 'err_RATE_LIMITED' })).toBe('err_RATE_LIMITED');
  });
});
