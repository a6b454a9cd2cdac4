import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { auth, expireSession } from './auth';
import { problemOf } from './errors';
import { createStore, type Store } from './store';

/** Whether the hub is unreachable: the websocket is down or the last request failed on the network. */
export const connection = createStore({ wsDown: false, httpDown: false });

function setConn(patch: Partial<{ wsDown: boolean; httpDown: boolean }>) {
  const cur = connection.get();
  const next = { ...cur, ...patch };
  if (next.wsDown !== cur.wsDown || next.httpDown !== cur.httpDown) connection.set(next);
}

function wsUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/graphql`;
}

/** Exponential backoff with jitter, capped at 15 s. */
export function backoffMs(retries: number, random = Math.random()): number {
  const base = Math.min(15000, 500 * 2 ** Math.min(retries, 10));
  return Math.round(base / 2 + (base / 2) * random);
}

/** A urql client for one credential (or none): HTTP for queries and mutations, graphql-ws for subscriptions. */
export function makeClient(
  token: string | null,
  onUnauthenticated: () => void = expireSession,
): { client: Client; dispose: () => void } {
  let disposed = false;
  const ws = createWsClient({
    url: wsUrl(),
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    on: {
      connected: () => {
        if (!disposed) setConn({ wsDown: false });
      },
      closed: (ev) => {
        if (disposed) return;
        const code = (ev as { code?: number } | undefined)?.code;
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
      void ws.dispose();
    },
  };
}

/**
 * The client of the current credential, replaced (and the old one's websocket closed) as soon as
 * the session changes, so that components see the new session and its client in the same render.
 */
export function clientFollowingAuth(): Store<Client> {
  let token = auth.get().session?.token ?? null;
  let current = makeClient(token);
  const store = createStore(current.client);
  auth.subscribe(() => {
    const next = auth.get().session?.token ?? null;
    if (next === token) return;
    token = next;
    current.dispose();
    current = makeClient(token);
    store.set(current.client);
  });
  return store;
}
