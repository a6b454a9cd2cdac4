// How this hub lets a browser sign in, from GET /config.json (the hub's own, not part of the
// build: the same build serves every mode).
import { backoffMs, setConn } from './connection';
import { createStore } from './store';

export interface OidcConfig {
  /** The issuer URL; its /.well-known/openid-configuration is the provider's metadata. */
  authority: string;
  /** A public client: no secret, authorization code with PKCE. */
  clientId: string;
  scope: string;
}

export type HubConfig = { signIn: 'demo' } | { signIn: 'none' } | { signIn: 'oidc'; oidc: OidcConfig };

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

/** The hub's answer read strictly: anything this app cannot act on is null (unknown). */
export function parseConfig(v: unknown): HubConfig | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  switch (o.signIn) {
    case 'demo':
      return { signIn: 'demo' };
    case 'none':
      return { signIn: 'none' };
    case 'oidc': {
      const c = o.oidc;
      if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
      const { authority, clientId, scope } = c as Record<string, unknown>;
      const issuer = text(authority);
      const client = text(clientId);
      if (!issuer || !client) return null;
      let url: URL;
      try {
        url = new URL(issuer);
      } catch {
        return null;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      // The provider must issue an ID token: openid is always asked for.
      const words = (text(scope) ?? '').split(/\s+/).filter(Boolean);
      if (!words.includes('openid')) words.unshift('openid');
      return { signIn: 'oidc', oidc: { authority: issuer, clientId: client, scope: words.join(' ') } };
    }
    default:
      return null;
  }
}

export type ConfigState =
  | { status: 'loading' }
  | { status: 'ready'; config: HubConfig }
  /** The hub could not be asked or gave no answer this app reads: asked again after a while. */
  | { status: 'unknown' };

export const hubConfig = createStore<ConfigState>({ status: 'loading' });

let started = false;
let inflight: Promise<HubConfig | null> | null = null;

/** Asks the hub once; on failure keeps asking, with backoff, until it answers. */
export function loadConfig() {
  if (started) return;
  started = true;
  const loop = async (retries: number) => {
    if (hubConfig.get().status === 'ready') return;
    if (await ask()) return;
    setTimeout(() => void loop(retries + 1), backoffMs(retries + 2));
  };
  void loop(0);
}

/** One request for /config.json (shared by whoever asks while it is under way). */
function ask(): Promise<HubConfig | null> {
  inflight ??= (async () => {
    let config: HubConfig | null = null;
    try {
      const res = await fetch('/config.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      setConn({ httpDown: res.status >= 502 && res.status <= 504 });
      if (res.ok) config = parseConfig(await res.json().catch(() => null));
    } catch {
      setConn({ httpDown: true });
    }
    inflight = null;
    if (config) hubConfig.set({ status: 'ready', config });
    else if (hubConfig.get().status !== 'ready') hubConfig.set({ status: 'unknown' });
    return hubConfig.get().status === 'ready' ? config : null;
  })();
  return inflight;
}

/**
 * The configuration, asking the hub again if it is not known yet; null when the hub has not
 * said within timeoutMs (the caller then does what it did before /config.json existed: the
 * demo sign-in, which a hub without one answers with 404).
 */
export async function whenConfigKnown(timeoutMs = 5000): Promise<HubConfig | null> {
  loadConfig();
  const now = hubConfig.get();
  if (now.status === 'ready') return now.config;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  try {
    return await Promise.race([ask(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The configuration, waiting for the hub for as long as it takes (the sign-in callback needs it). */
export function configEventually(): Promise<HubConfig> {
  loadConfig();
  const now = hubConfig.get();
  if (now.status === 'ready') return Promise.resolve(now.config);
  return new Promise((resolve) => {
    const unsubscribe = hubConfig.subscribe(() => {
      const s = hubConfig.get();
      if (s.status !== 'ready') return;
      unsubscribe();
      resolve(s.config);
    });
  });
}
