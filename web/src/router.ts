import { useSyncExternalStore } from 'react';

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

export function navigate(path: string, state: unknown = null) {
  history.pushState(state, '', path);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo(0, 0);
}

export type Route = { name: 'search' } | { name: 'appointment'; id: string } | { name: 'console' } | { name: 'notFound' };

export function route(path: string): Route {
  if (path === '/' || path === '/index.html' || path === '') return { name: 'search' };
  const m = /^\/appointment\/([^/]+)\/?$/.exec(path);
  if (m) return { name: 'appointment', id: decodeURIComponent(m[1]) };
  if (path === '/console' || path.startsWith('/console/')) return { name: 'console' };
  return { name: 'notFound' };
}
