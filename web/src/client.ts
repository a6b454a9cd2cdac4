import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { auth, expireSession, type Session } from './auth';
import { backoffMs, setConn } from './connection';
import { problemOf } from './errors';
import { createStore, type Store } from './store';

export { backoffMs, connection } from './connection';

function wsUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/graphql`;
}

export interface ClientHandle {
  client: Client;
  dispose: () => void;
  /** Carries on with a renewed token of the same caller (see renew below). */
  renew: (token: string) => void;
}

/** A urql client for one credential (or none): HTTP for queries and mutations, graphql-ws for subscriptions. */
export function makeClient(token: string | null, onUnauthenticated: () => void = expireSession): ClientHandle {
  let disposed = false;
  // Set while the websocket reconnects with a renewed token: its close is not an outage and
  // its first retry need not wait.
  let renewing = false;
  const ws = createWsClient({
    url: wsUrl(),
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => {
      if (renewing) {
        renewing = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => setTimeout(resolve, backoffMs(retries)));
    },
    on: {
      connected: () => {
        if (!disposed) setConn({ wsDown: false });
      },
      closed: (ev) => {
        if (disposed) return;
        const code = (ev as { code?: number } | undefined)?.code;
        if (code === 4499 && renewing) return;
        if (code === 4401 && token) {
          onUnauthenticated();
          return;
        }
        if (code !== 1000) setConn({ wsDown: true });
      },
    },
  });

  const fetchWithStatus: typeof fetch = async (input, init) => {
    try {
      const res = await fetch(input, init);
      setConn({ httpDown: res.status >= 502 && res.status <= 504 });
      if (res.status === 401 && token) onUnauthenticated();
      return res;
    } catch (e) {
      if (!disposed) setConn({ httpDown: true });
      throw e;
    }
  };

  const client = new Client({
    url: '/graphql',
    fetch: fetchWithStatus,
    fetchOptions: (): RequestInit => ({ headers: token ? { Authorization: `Bearer ${token}` } : {} }),
    exchanges: [
      mapExchange({
        onError(error) {
          if (token && problemOf(error)?.code === 'UNAUTHENTICATED') onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    dispose: () => {
      disposed = true;
      setConn({ wsDown: false });
      // A socket that never opened rejects its dispose: nothing is left to close.
      void Promise.resolve(ws.dispose()).catch(() => {});
    },
    // HTTP requests read the token as they go; the websocket was authenticated by its
    // connection_init, and the hub closes it (4401) when that credential expires: reconnect
    // now with the new one. graphql-ws subscribes the live operations again on the new socket.
    renew: (next) => {
      if (next === token) return;
      token = next;
      renewing = true;
      ws.terminate();
    },
  };
}

/** Whether a session follows another as the same caller with a renewed token (OpenID Connect refresh). */
export function sameCaller(a: { token: string; partyId: string } | null, b: { token: string; partyId: string } | null): boolean {
  return !!a && !!b && a.partyId !== '' && a.partyId === b.partyId;
}

/**
 * The client of the current credential, replaced (and the old one's websocket closed) as soon as
 * the session changes to another caller, so that components see the new session and its client
 * in the same render; a renewed token of the same caller is handed to the same client.
 */
export function clientFollowingAuth(): Store<Client> {
  let session: Session | null = auth.get().session;
  let current = makeClient(session?.token ?? null);
  const store = createStore(current.client);
  auth.subscribe(() => {
    const next = auth.get().session;
    const prev = session;
    session = next;
    if ((next?.token ?? null) === (prev?.token ?? null)) return;
    // A renewed token keeps the client, its cache and its live subscriptions.
    if (next && sameCaller(prev, next)) return current.renew(next.token);
    current.dispose();
    current = makeClient(next?.token ?? null);
    store.set(current.client);
  });
  return store;
}
