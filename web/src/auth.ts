import { createStore } from './store';

export interface Session {
  token: string;
  partyId: string;
  expiresAt: string;
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
    if (!s.token || !s.expiresAt || Date.parse(s.expiresAt) <= Date.now()) {
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

export class SignInUnavailable extends Error {}

/** Demo sign-in: a token for a fresh customer party (the hub's local-key mode only). */
export async function signInDemo(): Promise<Session> {
  const res = await fetch('/demo/sign-in', { method: 'POST', headers: { Accept: 'application/json' } });
  if (res.status === 404) throw new SignInUnavailable('demo sign-in unavailable');
  if (!res.ok) throw new Error(`sign-in answered ${res.status}`);
  const body = (await res.json()) as Session;
  if (!body.token) throw new Error('sign-in answered no token');
  const s: Session = { token: body.token, partyId: body.partyId, expiresAt: body.expiresAt };
  save(s);
  auth.set({ session: s, notice: null });
  return s;
}

export function signOut() {
  save(null);
  auth.set({ session: null, notice: null });
}

/** The token ran out or was refused: forget it and ask to sign in again. */
export function expireSession() {
  if (!auth.get().session) return;
  save(null);
  auth.set({ session: null, notice: 'expired' });
}
