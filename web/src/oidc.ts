// Sign-in at the operator's identity provider: OpenID Connect, authorization code with PKCE
// (oidc-client-ts's default for response_type "code"), as a public client (no secret). The
// provider's metadata, token and end-session endpoints are the only requests that leave the
// hub's origin (the hub's Content-Security-Policy allows the issuer's origin for them).
//
// The customer app and the agent console keep separate sessions, as they do with the demo
// sign-in and pasted tokens: each has its own UserManager whose user and sign-in states live
// in sessionStorage under its own prefix. Signing out of one removes only its own user, so the
// other stays signed in, whole (its own token, renewed on its own); neither is ever left
// holding the other's half. When the provider ends its session on a sign-out (end_session_endpoint)
// the other's refresh stops working at some point and it ends as any session does: "your
// session has ended, sign in again".
import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import type { OidcConfig } from './config';
import { CALLBACK_PATH, returnPathOf, returnStateFor, safeReturnPath } from './signInState';

export type Purpose = 'customer' | 'console';

const PREFIX: Record<Purpose, string> = { customer: 'apphub.oidc.customer.', console: 'apphub.oidc.console.' };

// Which session the sign-in under way is for, and where it goes back to: the callback needs the
// first to pick the UserManager whose stored state matches, and "try again" after a failed
// callback needs both (the state is gone by then).
const PENDING_KEY = 'apphub.oidc.pending';

const managers = new Map<string, UserManager>();

export function userManager(purpose: Purpose, cfg: OidcConfig): UserManager {
  const key = [purpose, cfg.authority, cfg.clientId, cfg.scope].join(' ');
  let um = managers.get(key);
  if (!um) {
    const store = new WebStorageStateStore({ prefix: PREFIX[purpose], store: sessionStorage });
    um = new UserManager({
      authority: cfg.authority,
      client_id: cfg.clientId,
      redirect_uri: `${location.origin}${CALLBACK_PATH}`,
      response_type: 'code',
      scope: cfg.scope,
      userStore: store,
      stateStore: store,
      loadUserInfo: false,
      // The provider gives refresh tokens: the access token is renewed before it runs out,
      // and userLoaded carries the new one to the session.
      automaticSilentRenew: true,
      monitorSession: false,
    });
    managers.set(key, um);
  }
  return um;
}

export interface Pending {
  purpose: Purpose;
  returnTo: string;
}

export function pendingSignIn(): Pending | null {
  try {
    const v = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Partial<Pending> | null;
    if (!v || (v.purpose !== 'customer' && v.purpose !== 'console')) return null;
    return { purpose: v.purpose, returnTo: safeReturnPath(v.returnTo) };
  } catch {
    return null;
  }
}

function setPending(p: Pending | null) {
  try {
    if (p) sessionStorage.setItem(PENDING_KEY, JSON.stringify(p));
    else sessionStorage.removeItem(PENDING_KEY);
  } catch {
    /* storage unavailable: the callback falls back to the customer's session */
  }
}

/** Leaves for the provider's sign-in page; comes back to CALLBACK_PATH, then to returnTo. */
export async function startSignIn(purpose: Purpose, cfg: OidcConfig, returnTo: string, lang?: string): Promise<void> {
  const state = returnStateFor(returnTo);
  setPending({ purpose, returnTo: state.returnTo });
  await userManager(purpose, cfg).signinRedirect({ state, ...(lang ? { ui_locales: lang } : {}) });
}

export interface Completed {
  purpose: Purpose;
  user: User;
  returnTo: string;
}

let completing: { url: string; promise: Promise<Completed> } | null = null;

/**
 * Finishes the sign-in the provider sent back to the callback (code for tokens, PKCE verifier
 * and state checked by oidc-client-ts). Once per callback URL: React may mount the page twice.
 */
export function completeSignIn(cfg: OidcConfig, url = location.href): Promise<Completed> {
  if (completing?.url === url) return completing.promise;
  const purpose = pendingSignIn()?.purpose ?? 'customer';
  const promise = userManager(purpose, cfg)
    .signinRedirectCallback(url)
    .then((user) => {
      setPending(null);
      return { purpose, user, returnTo: returnPathOf(user.state) };
    });
  completing = { url, promise };
  return promise;
}

/**
 * Forgets a session's user; on an explicit sign-out (redirect) also ends the provider's
 * session, when the provider offers that (end_session_endpoint): the page leaves for it.
 */
export async function endSession(purpose: Purpose, cfg: OidcConfig, redirect: boolean): Promise<void> {
  const um = userManager(purpose, cfg);
  if (redirect) {
    let endpoint: string | undefined;
    try {
      endpoint = await um.metadataService.getEndSessionEndpoint();
    } catch {
      endpoint = undefined;
    }
    // signoutRedirect removes the user first, then leaves with it as id_token_hint.
    if (endpoint) return um.signoutRedirect();
  }
  await um.removeUser();
}
