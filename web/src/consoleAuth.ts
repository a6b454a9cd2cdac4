// The agent console's own credential: a bearer token an agent or an operator pastes (the hub's
// local-key mode has no identity provider). It lives in sessionStorage under its own key, apart
// from the customer's session, and has its own urql client.
import { Client, fetchExchange } from '@urql/core';
import type { Client as UrqlClient } from 'urql';
import { makeClient } from './client';
import { problemOf } from './errors';
import { graphql } from './gql';
import type { MessageKey } from './i18n';
import { createStore, type Store } from './store';

export interface ConsoleSession {
  token: string;
  partyId: string;
  roles: string[];
  resources: string[];
  places: string[];
  /** RFC 3339, or null when the token does not expire. */
  expiresAt: string | null;
}

export interface ConsoleAuthState {
  session: ConsoleSession | null;
  notice: 'expired' | 'notAgent' | null;
}

export const CONSOLE_KEY = 'apphub.console.session';
/** Roles the console serves. */
export const CONSOLE_ROLES = ['agent', 'admin'];
const KNOWN_ROLES = ['customer', 'agent', 'partner', 'admin'];

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The payload of a JWT, unverified (the hub verifies; this is for the UI only), or null. */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const v = JSON.parse(base64UrlDecode(parts[1])) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return [];
}

/** The roles a token's payload names, read as the hub does: `roles` (array or words), else `scope`. */
export function rolesOf(payload: Record<string, unknown>): string[] {
  let names = strings(payload.roles);
  if (names.length === 0) names = strings(payload.scope);
  return [...new Set(names.filter((n) => KNOWN_ROLES.includes(n)))];
}

export type TokenCheck = { ok: true; session: ConsoleSession } | { ok: false; key: MessageKey };

/** What the console makes of a pasted token, before asking the hub. */
export function readToken(raw: string, now = Date.now()): TokenCheck {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  if (!token) return { ok: false, key: 'con_tokenRequired' };
  const payload = decodeJwtPayload(token);
  if (!payload) return { ok: false, key: 'con_tokenMalformed' };
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  if (exp !== null && exp <= now) return { ok: false, key: 'con_tokenExpired' };
  const roles = rolesOf(payload);
  if (!roles.some((r) => CONSOLE_ROLES.includes(r))) return { ok: false, key: 'con_notAgent' };
  const partyId = typeof payload.sub === 'string' ? payload.sub : '';
  return {
    ok: true,
    session: {
      token,
      partyId,
      roles,
      resources: strings(payload.resources),
      places: strings(payload.places),
      expiresAt: exp === null ? null : new Date(exp).toISOString(),
    },
  };
}

function load(): ConsoleSession | null {
  try {
    const raw = sessionStorage.getItem(CONSOLE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as ConsoleSession;
    const check = readToken(s.token ?? '');
    if (!check.ok) {
      sessionStorage.removeItem(CONSOLE_KEY);
      return null;
    }
    return check.session;
  } catch {
    return null;
  }
}

function save(s: ConsoleSession | null) {
  try {
    if (s) sessionStorage.setItem(CONSOLE_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(CONSOLE_KEY);
  } catch {
    /* storage unavailable: the session lives in memory only */
  }
}

export const consoleAuth = createStore<ConsoleAuthState>({
  session: typeof sessionStorage === 'undefined' ? null : load(),
  notice: null,
});

export function consoleSignOut(notice: ConsoleAuthState['notice'] = null) {
  save(null);
  consoleAuth.set({ session: null, notice });
}

/** The token ran out or was refused. */
export function expireConsoleSession() {
  if (!consoleAuth.get().session) return;
  consoleSignOut('expired');
}

const ProbeQuery = graphql(`
  query ConsoleProbe {
    appointments(first: 20) {
      edges { node { id partyId } }
    }
  }
`);

/**
 * Whether the hub treats the token as an agent's or an operator's: a harmless read of the
 * appointments the token may list. A customer's lists only its own (every one its party's), and
 * agent-only reads are FORBIDDEN to it.
 */
async function probe(s: ConsoleSession): Promise<MessageKey | null> {
  const client = new Client({
    url: '/graphql',
    exchanges: [fetchExchange],
    fetchOptions: { headers: { Authorization: `Bearer ${s.token}` } },
    requestPolicy: 'network-only',
  });
  const res = await client.query(ProbeQuery, {}).toPromise();
  const p = problemOf(res.error);
  if (p) {
    if (p.code === 'FORBIDDEN') return 'con_notAgent';
    if (p.code === 'UNAUTHENTICATED') return 'con_tokenRefused';
    return p.key;
  }
  const nodes = res.data?.appointments.edges.map((e) => e.node) ?? [];
  if (nodes.length > 0 && s.partyId && nodes.every((n) => n.partyId === s.partyId)) return 'con_notAgent';
  return null;
}

/** Signs the console in with a pasted token; the message key of the refusal, or null. */
export async function consoleSignIn(raw: string): Promise<MessageKey | null> {
  const check = readToken(raw);
  if (!check.ok) return check.key;
  let refusal: MessageKey | null;
  try {
    refusal = await probe(check.session);
  } catch {
    refusal = 'err_NETWORK';
  }
  if (refusal) return refusal;
  save(check.session);
  consoleAuth.set({ session: check.session, notice: null });
  return null;
}

let clients: Store<UrqlClient | null> | null = null;

/** The console's urql client, following its session (null when signed out). */
export function consoleClients(): Store<UrqlClient | null> {
  if (clients) return clients;
  let token = consoleAuth.get().session?.token ?? null;
  let current = token ? makeClient(token, expireConsoleSession) : null;
  const store = createStore<UrqlClient | null>(current?.client ?? null);
  consoleAuth.subscribe(() => {
    const next = consoleAuth.get().session?.token ?? null;
    if (next === token) return;
    token = next;
    current?.dispose();
    current = token ? makeClient(token, expireConsoleSession) : null;
    store.set(current?.client ?? null);
  });
  clients = store;
  return store;
}
