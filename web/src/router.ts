import { useSyncExternalStore } from 'react';
import { CALLBACK_PATH } from './signInState';

const EVENT = 'apphub:navigate';

function subscribe(fn: () => void) {
  window.addEventListener('popstate', fn);
  window.addEventListener(EVENT, fn);
  return () => {
    window.removeEventListener('popstate', fn);
    window.removeEventListener(EVENT, fn);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname, () => '/');
}

/** Goes to a path of the app without a reload; replace: in place of the current entry (no way back to it). */
export function navigate(path: string, state: unknown = null, replace = false) {
  if (replace) history.replaceState(state, '', path);
  else history.pushState(state, '', path);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo(0, 0);
}

export type Route =
  | { name: 'search' }
  | { name: 'appointment'; id: string }
  | { name: 'console' }
  | { name: 'signInCallback' }
  | { name: 'notFound' };

export function route(path: string): Route {
  if (path === '/' || path === '/index.html' || path === '') return { name: 'search' };
  const m = /^\/appointment\/([^/]+)\/?$/.exec(path);
  if (m) return { name: 'appointment', id: decodeURIComponent(m[1]) };
  if (path === '/console' || path.startsWith('/console/')) return { name: 'console' };
  // Where the identity provider sends the browser back (the hub serves index.html there).
  if (path === CALLBACK_PATH) return { name: 'signInCallback' };
  return { name: 'notFound' };
}
