import type { User } from 'oidc-client-ts';
import { whenConfigKnown, type OidcConfig } from './config';
import type { MessageKey } from './i18n';
import { endSession, startSignIn, userManager } from './oidc';
import { expiresAtOf, stillValid } from './signInState';
import { createStore } from './store';
import { fetchViewer } from './viewer';

export interface Session {
  token: string;
  partyId: string;
  /** RFC 3339, or null when the credential does not expire. */
  expiresAt: string | null;
  /** The hub's demo sign-in (the default, as sessions stored before there was a choice) or the identity provider. */
  via?: 'demo' | 'oidc';
  /** The provider's subject: a renewed token is taken for the session only when it is the same. */
  subject?: string;
}

export interface AuthState {
  session: Session | null;
  /** Why the customer has to sign in again, if they do. */
  notice: 'expired' | null;
}

const KEY = 'apphub.session';

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (!s.token || s.expiresAt === undefined || !stillValid(s.expiresAt)) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export const auth = createStore<AuthState>({
  session: typeof sessionStorage === 'undefined' ? null : load(),
  notice: null,
});

function save(s: Session | null) {
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the session lives in memory only */
  }
}

function setSession(s: Session | null, notice: AuthState['notice'] = null) {
  save(s);
  auth.set({ session: s, notice });
}

/** A sign-in that cannot be done here; key says why, in words. */
export class SignInUnavailable extends Error {
  constructor(readonly key: MessageKey = 'signInUnavailable') {
    super(key);
  }
}

/** The identity provider could not be reached to start signing in. */
export class SignInProviderDown extends Error {}

/** Demo sign-in: a token for a fresh customer party (the hub's local-key mode only). */
export async function signInDemo(): Promise<Session> {
  const res = await fetch('/demo/sign-in', { method: 'POST', headers: { Accept: 'application/json' } });
  if (res.status === 404) throw new SignInUnavailable('signInUnavailable');
  if (!res.ok) throw new Error(`sign-in answered ${res.status}`);
  const body = (await res.json()) as Session;
  if (!body.token) throw new Error('sign-in answered no token');
  const s: Session = { token: body.token, partyId: body.partyId, expiresAt: body.expiresAt, via: 'demo' };
  setSession(s);
  return s;
}

/**
 * Signs the customer in as this hub does it: the demo sign-in, or a round trip to the identity
 * provider that comes back to returnTo (the page leaves: the promise may not settle). A hub
 * whose /config.json could not be read is treated as before there was one: the demo sign-in.
 */
export async function signIn(returnTo = location.pathname + location.search, lang?: string): Promise<void> {
  const cfg = await whenConfigKnown();
  if (cfg?.signIn === 'none') throw new SignInUnavailable('signInNone');
  if (cfg?.signIn === 'oidc') {
    try {
      await startSignIn('customer', cfg.oidc, returnTo, lang);
    } catch (e) {
      throw new SignInProviderDown(String(e));
    }
    return;
  }
  await signInDemo();
}

/**
 * Takes the provider's user as the customer's session, once the hub says who it is (the party
 * shown comes from the hub, not from the token). The message key of the refusal, or null.
 */
export async function adoptOidcUser(user: User, cfg: OidcConfig): Promise<MessageKey | null> {
  const answer = await fetchViewer(user.access_token);
  // The hub unreachable or failing says nothing about the token: try again later.
  if (!answer.ok && answer.problem.code !== 'UNAUTHENTICATED') return answer.problem.key;
  if (!answer.ok || !answer.viewer) {
    await endSession('customer', cfg, false).catch(() => {});
    return 'signInRefused';
  }
  const v = answer.viewer;
  setSession({
    token: user.access_token,
    partyId: v.partyId,
    expiresAt: expiresAtOf(user.expires_at) ?? v.expiresAt ?? null,
    via: 'oidc',
    subject: user.profile.sub,
  });
  return null;
}

let providerConfig: OidcConfig | null = null;

/**
 * Follows the provider's user of the customer's session: a renewed access token replaces the
 * session's (its expiry with it); a user gone from storage ends the session. Loading the user
 * also arms oidc-client-ts's renewal before the token runs out.
 */
export function resumeOidcSession(cfg: OidcConfig) {
  if (providerConfig) return;
  providerConfig = cfg;
  const um = userManager('customer', cfg);
  um.events.addUserLoaded((user) => {
    const s = auth.get().session;
    if (s?.via !== 'oidc' || s.subject !== user.profile.sub || s.token === user.access_token) return;
    setSession({ ...s, token: user.access_token, expiresAt: expiresAtOf(user.expires_at) ?? s.expiresAt });
  });
  void um
    .getUser()
    .then((user) => {
      const s = auth.get().session;
      if (s?.via !== 'oidc') return;
      if (!user || user.expired || user.profile.sub !== s.subject) return setSession(null);
      if (user.access_token !== s.token) setSession({ ...s, token: user.access_token, expiresAt: expiresAtOf(user.expires_at) ?? s.expiresAt });
    })
    .catch(() => {});
}

/** Signs the customer out: here, and at the provider when it offers to end its session. */
export function signOut() {
  const s = auth.get().session;
  setSession(null);
  if (s?.via === 'oidc' && providerConfig) void endSession('customer', providerConfig, true).catch(() => {});
}

/** The token ran out or was refused: forget it and ask to sign in again. */
export function expireSession() {
  const s = auth.get().session;
  if (!s) return;
  setSession(null, 'expired');
  if (s.via === 'oidc' && providerConfig) void endSession('customer', providerConfig, false).catch(() => {});
}
