import { createStore } from './store';

/** Whether the hub is unreachable: the websocket is down or the last request failed on the network. */
export const connection = createStore({ wsDown: false, httpDown: false });

export function setConn(patch: Partial<{ wsDown: boolean; httpDown: boolean }>) {
  const cur = connection.get();
  const next = { ...cur, ...patch };
  if (next.wsDown !== cur.wsDown || next.httpDown !== cur.httpDown) connection.set(next);
}

/** Exponential backoff with jitter, capped at 15 s. */
export function backoffMs(retries: number, random = Math.random()): number {
  const base = Math.min(15000, 500 * 2 ** Math.min(retries, 10));
  return Math.round(base / 2 + (base / 2) * random);
}
