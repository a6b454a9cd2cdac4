import { describe, expect, it } from 'vitest';
import { decodeJwtPayload, readToken, rolesOf } from './consoleAuth';
import { ACTIONS_FROM, mergeAppointments, type Appt } from './components/ConsolePage';
import { consoleMessageKey, errorMessageKey } from './errors';
import { DICTS } from './i18n';

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

  it('reads roles as the hub does: an array, words, else the scope', () => {
    expect(rolesOf({ roles: ['agent', 'nonsense'] })).toEqual(['agent']);
    expect(rolesOf({ roles: 'admin agent' })).toEqual(['admin', 'agent']);
    expect(rolesOf({ scope: 'openid customer' })).toEqual(['customer']);
    expect(rolesOf({})).toEqual([]);
  });

  it('accepts an agent or an admin token and keeps its scope', () => {
    const r = readToken(`Bearer ${jwt({ sub: 'agent-1', roles: ['agent'], resources: ['tech-paris-001'], exp: later })}`, NOW);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.session.partyId).toBe('agent-1');
    expect(r.session.roles).toEqual(['agent']);
    expect(r.session.resources).toEqual(['tech-paris-001']);
    expect(r.session.places).toEqual([]);
    expect(r.session.token.startsWith('Bearer')).toBe(false);
    expect(r.session.expiresAt).toBe(new Date(later * 1000).toISOString());
    expect(readToken(jwt({ sub: 'ops', roles: ['admin'], exp: later }), NOW).ok).toBe(true);
  });

  it('refuses a customer token, an expired one and garbage', () => {
    expect(readToken(jwt({ sub: 'cust-1', roles: ['customer'], exp: later }), NOW)).toEqual({ ok: false, key: 'con_notAgent' });
    expect(readToken(jwt({ sub: 'acme', roles: ['partner'], exp: later }), NOW)).toEqual({ ok: false, key: 'con_notAgent' });
    expect(readToken(jwt({ sub: 'agent-1', roles: ['agent'], exp: NOW / 1000 - 1 }), NOW)).toEqual({ ok: false, key: 'con_tokenExpired' });
    expect(readToken('hello', NOW)).toEqual({ ok: false, key: 'con_tokenMalformed' });
    expect(readToken('   ', NOW)).toEqual({ ok: false, key: 'con_tokenRequired' });
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
