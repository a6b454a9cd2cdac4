import type { MessageKey } from './i18n';

// What survives the round trip to the identity provider: where the user was (carried in the
// sign-in request's state, which oidc-client-ts keeps in sessionStorage and hands back on the
// callback) and, for the search page, the search itself (in that path's query).

export const CALLBACK_PATH = '/signin/callback';

/** The user data of a sign-in request's state. */
export interface ReturnState {
  returnTo: string;
}

/**
 * A path of this app to go back to: same origin only (a path, never "//host" or a URL), and
 * never the callback itself. Anything else is the search page.
 */
export function safeReturnPath(p: unknown): string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.startsWith('//') || p.startsWith('/\\')) return '/';
  // Control characters and backslashes have no place in this app's paths.
  if (/[\u0000-\u001f\\]/.test(p)) return '/';
  const path = p.split(/[?#]/, 1)[0];
  if (path === CALLBACK_PATH || path.startsWith(`${CALLBACK_PATH}/`)) return '/';
  return p;
}

export function returnStateFor(path: string): ReturnState {
  return { returnTo: safeReturnPath(path) };
}

/** The path a finished sign-in goes back to, from the state's user data (whatever it holds). */
export function returnPathOf(data: unknown): string {
  if (!data || typeof data !== 'object') return '/';
  return safeReturnPath((data as Record<string, unknown>).returnTo);
}

/** The search form as the search page's query keeps it. */
export interface SearchForm {
  category: string;
  /** A postcode, for a category served where the customer is. */
  postcode?: string;
  /** A store's id, for a category served at a place. */
  store?: string;
}

/** The search page's path for a form: "/" alone when nothing is chosen. */
export function searchPath(f: SearchForm): string {
  const q = new URLSearchParams();
  if (f.category) q.set('category', f.category);
  if (f.postcode?.trim()) q.set('postcode', f.postcode.trim());
  if (f.store) q.set('store', f.store);
  const s = q.toString();
  return s ? `/?${s}` : '/';
}

/** The search form a search page's query holds (from searchPath), or null when it holds none. */
export function searchFormOf(query: string): SearchForm | null {
  const q = new URLSearchParams(query);
  const category = (q.get('category') ?? '').trim();
  if (!category) return null;
  const postcode = (q.get('postcode') ?? '').trim();
  const store = (q.get('store') ?? '').trim();
  return { category, ...(postcode ? { postcode } : {}), ...(store ? { store } : {}) };
}

/** A session's end (RFC 3339) from oidc-client-ts's expires_at (seconds since the epoch), or null. */
export function expiresAtOf(expiresAt: number | undefined | null): string | null {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= 0) return null;
  return new Date(expiresAt * 1000).toISOString();
}

/** Whether a session ending at expiresAt (RFC 3339, or null: no end) is still on at now. */
export function stillValid(expiresAt: string | null, now = Date.now()): boolean {
  if (expiresAt === null) return true;
  const t = Date.parse(expiresAt);
  return Number.isFinite(t) && t > now;
}

/** A failed sign-in callback, in words: the message key and, from the provider, its own words. */
export interface CallbackProblem {
  key: MessageKey;
  detail?: string;
}

/** What a failed callback (oidc-client-ts's ErrorResponse, a lost state, a network error) means. */
export function callbackProblem(e: unknown): CallbackProblem {
  const err = e as { name?: unknown; message?: unknown; error?: unknown; error_description?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : '';
  if (err && typeof err.error === 'string') {
    // The provider's answer (error=… on the callback, or the token endpoint's refusal).
    const detail = typeof err.error_description === 'string' && err.error_description ? err.error_description : err.error;
    const denied = ['access_denied', 'login_required', 'interaction_required', 'consent_required', 'account_selection_required'];
    return { key: denied.includes(err.error) ? 'cb_denied' : 'cb_failed', detail };
  }
  if (/no matching state|no state in response|state.*(missing|mismatch)/i.test(message)) return { key: 'cb_stale' };
  if (err?.name === 'ErrorTimeout' || err instanceof TypeError || /fetch|network/i.test(message)) return { key: 'signInProviderDown' };
  return { key: 'cb_failed' };
}
