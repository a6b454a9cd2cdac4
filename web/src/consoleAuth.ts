// The agent console's own credential: the access token of a sign-in at the operator's identity
// provider (its own UserManager, see oidc.ts), or a bearer token an agent or an operator pastes
// (the hub's local-key mode has no identity provider). It lives in sessionStorage under its own
// key, apart from the customer's session, and has its own urql client. What the holder may do
// (roles, resources, places) is what the hub says (the viewer query), never read from the token.
import type { User } from 'oidc-client-ts';
import type { Client as UrqlClient } from 'urql';
import { makeClient, sameCaller, type ClientHandle } from './client';
import { whenConfigKnown, type OidcConfig } from './config';
import type { MessageKey } from './i18n';
import { endSession, startSignIn, userManager } from './oidc';
import { expiresAtOf, stillValid } from './signInState';
import { createStore, type Store } from './store';
import { fetchViewer, type Viewer } from './viewer';

export interface ConsoleSession {
  token: string;
  partyId: string;
  roles: string[];
  resources: string[];
  places: string[];
  /** RFC 3339, or null when the token does not expire. */
  expiresAt: string | null;
  /** A pasted token (the default, as sessions stored before there was a choice) or the identity provider's. */
  via?: 'token' | 'oidc';
  /** The provider's subject: a renewed token is taken for the session only when it is the same. */
  subject?: string;
}

export interface ConsoleAuthState {
  session: ConsoleSession | null;
  notice: 'expired' | 'notAgent' | null;
}

export const CONSOLE_KEY = 'apphub.console.session';
/** Roles the console serves. */
export const CONSOLE_ROLES = ['agent', 'admin'];

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

export type TokenCheck = { ok: true; token: string; expiresAt: string | null } | { ok: false; key: MessageKey };

/** What the console makes of a pasted token before asking the hub: whether it is one, and not run out. */
export function readToken(raw: string, now = Date.now()): TokenCheck {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  if (!token) return { ok: false, key: 'con_tokenRequired' };
  const payload = decodeJwtPayload(token);
  if (!payload) return { ok: false, key: 'con_tokenMalformed' };
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  if (exp !== null && exp <= now) return { ok: false, key: 'con_tokenExpired' };
  return { ok: true, token, expiresAt: exp === null ? null : new Date(exp).toISOString() };
}

export type SessionCheck = { ok: true; session: ConsoleSession } | { ok: false; key: MessageKey };

/**
 * The console's session for a token the hub answered viewer for: an agent's or an operator's
 * only. expiresAt is what the client knows of the token's end (the provider's expires_at, a
 * pasted token's exp); else the hub's.
 */
export function consoleSessionFromViewer(
  token: string,
  viewer: Viewer | null,
  expiresAt: string | null,
  via: 'token' | 'oidc',
  subject?: string,
): SessionCheck {
  if (!viewer) return { ok: false, key: 'con_tokenRefused' };
  if (!viewer.roles.some((r) => CONSOLE_ROLES.includes(r))) return { ok: false, key: 'con_notAgent' };
  return {
    ok: true,
    session: {
      token,
      partyId: viewer.partyId,
      roles: [...viewer.roles],
      resources: [...viewer.resources],
      places: [...viewer.places],
      expiresAt: expiresAt ?? viewer.expiresAt ?? null,
      via,
      ...(subject ? { subject } : {}),
    },
  };
}

function load(): ConsoleSession | null {
  try {
    const raw = sessionStorage.getItem(CONSOLE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as ConsoleSession;
    if (typeof s.token !== 'string' || !s.token || !Array.isArray(s.roles) || !stillValid(s.expiresAt ?? null)) {
      sessionStorage.removeItem(CONSOLE_KEY);
      return null;
    }
    return { ...s, resources: s.resources ?? [], places: s.places ?? [], expiresAt: s.expiresAt ?? null };
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

function setSession(s: ConsoleSession | null, notice: ConsoleAuthState['notice'] = null) {
  save(s);
  consoleAuth.set({ session: s, notice });
}

let providerConfig: OidcConfig | null = null;

/**
 * Signs the console out. The provider's user goes too; an agent's own sign-out (endProviderSession)
 * also ends the provider's session when it offers that, so that a shared desk is left signed out.
 */
export function consoleSignOut(notice: ConsoleAuthState['notice'] = null, endProviderSession = false) {
  const s = consoleAuth.get().session;
  setSession(null, notice);
  if (s?.via === 'oidc' && providerConfig) void endSession('console', providerConfig, endProviderSession).catch(() => {});
}

/** The token ran out or was refused. */
export function expireConsoleSession() {
  if (!consoleAuth.get().session) return;
  consoleSignOut('expired');
}

/** The hub's refusal of a token as the console words it. */
function refusalOf(code: string, key: MessageKey): MessageKey {
  if (code === 'UNAUTHENTICATED') return 'con_tokenRefused';
  if (code === 'FORBIDDEN') return 'con_notAgent';
  return key;
}

/** Signs the console in with a pasted token; the message key of the refusal, or null. */
export async function consoleSignIn(raw: string): Promise<MessageKey | null> {
  const check = readToken(raw);
  if (!check.ok) return check.key;
  const answer = await fetchViewer(check.token);
  if (!answer.ok) return refusalOf(answer.problem.code, answer.problem.key);
  const made = consoleSessionFromViewer(check.token, answer.viewer, check.expiresAt, 'token');
  if (!made.ok) return made.key;
  setSession(made.session);
  return null;
}

/** Leaves for the identity provider; the sign-in comes back to /console. The refusal's key, or null. */
export async function consoleSignInWithProvider(lang?: string): Promise<MessageKey | null> {
  const cfg = await whenConfigKnown();
  if (cfg?.signIn !== 'oidc') return 'signInNone';
  try {
    await startSignIn('console', cfg.oidc, '/console', lang);
    return null;
  } catch {
    return 'signInProviderDown';
  }
}

/**
 * Takes the provider's user as the console's session when the hub says it is an agent's or an
 * operator's. The message key of the refusal, or null; a refused user is forgotten.
 */
export async function adoptConsoleUser(user: User, cfg: OidcConfig): Promise<MessageKey | null> {
  const answer = await fetchViewer(user.access_token);
  if (!answer.ok && answer.problem.code !== 'UNAUTHENTICATED') return answer.problem.key;
  const made = answer.ok
    ? consoleSessionFromViewer(user.access_token, answer.viewer, expiresAtOf(user.expires_at), 'oidc', user.profile.sub)
    : ({ ok: false, key: 'con_tokenRefused' } as const);
  if (!made.ok) {
    await endSession('console', cfg, false).catch(() => {});
    setSession(null, made.key === 'con_notAgent' ? 'notAgent' : null);
    return made.key;
  }
  setSession(made.session);
  return null;
}

/** Follows the provider's user of the console's session (see resumeOidcSession in auth.ts). */
export function resumeConsoleOidcSession(cfg: OidcConfig) {
  if (providerConfig) return;
  providerConfig = cfg;
  const um = userManager('console', cfg);
  const renewed = (user: User) => {
    const s = consoleAuth.get().session;
    if (s?.via !== 'oidc' || s.subject !== user.profile.sub || s.token === user.access_token) return;
    setSession({ ...s, token: user.access_token, expiresAt: expiresAtOf(user.expires_at) ?? s.expiresAt });
  };
  um.events.addUserLoaded(renewed);
  void um
    .getUser()
    .then((user) => {
      const s = consoleAuth.get().session;
      if (s?.via !== 'oidc') return;
      if (!user || user.expired || user.profile.sub !== s.subject) return setSession(null);
      renewed(user);
    })
    .catch(() => {});
}

let clients: Store<UrqlClient | null> | null = null;

/** The console's urql client, following its session (null when signed out). */
export function consoleClients(): Store<UrqlClient | null> {
  if (clients) return clients;
  let session = consoleAuth.get().session;
  let current: ClientHandle | null = session ? makeClient(session.token, expireConsoleSession) : null;
  const store = createStore<UrqlClient | null>(current?.client ?? null);
  consoleAuth.subscribe(() => {
    const next = consoleAuth.get().session;
    const prev = session;
    session = next;
    if ((next?.token ?? null) === (prev?.token ?? null)) return;
    // A renewed token keeps the client, its cache and the day's live subscriptions.
    if (current && next && sameCaller(prev, next)) return current.renew(next.token);
    current?.dispose();
    current = next ? makeClient(next.token, expireConsoleSession) : null;
    store.set(current?.client ?? null);
  });
  clients = store;
  return store;
}
