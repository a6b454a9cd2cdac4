import { useEffect, useMemo, useState } from 'react';
import { Provider, type Client } from 'urql';
import type { Store } from './store';
import { auth, expireSession, signOut } from './auth';
import { connection } from './client';
import { HTML_LANGS, I18nContext, LANG_NAMES, LANGS, LOCALES, SKIP_TO_CONTENT, initialLang, translator, useI18n, type I18n, type Lang } from './i18n';
import { navigate, route, usePath } from './router';
import { useStore } from './store';
import { SearchPage } from './components/SearchPage';
import { AppointmentPage } from './components/AppointmentPage';
import { ConsolePage } from './components/ConsolePage';
import { SignInCallbackPage } from './components/SignInCallbackPage';
import { useSignIn } from './components/SignIn';

export function App({ clients }: { clients: Store<Client> }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo<I18n>(
    () => ({
      lang,
      locale: LOCALES[lang],
      t: translator(lang),
      setLang: (l) => {
        setLangState(l);
        try {
          localStorage.setItem('apphub.lang', l);
        } catch {
          /* ignore */
        }
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = HTML_LANGS[lang];
    document.title = i18n.t('appName');
  }, [lang, i18n]);

  const { session } = useStore(auth);

  // Sign in again when the token runs out.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const id = setTimeout(expireSession, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    return () => clearTimeout(id);
  }, [session]);

  // One client per credential (the websocket carries it in connection_init), following the session.
  const client = useStore(clients);

  return (
    <I18nContext.Provider value={i18n}>
      <a className="skip" href="#main">
        {SKIP_TO_CONTENT[lang]}
      </a>
      <Header />
      <OfflineBanner />
      <SessionNotice />
      <Provider value={client}>
        <Routes />
      </Provider>
      <Footer />
    </I18nContext.Provider>
  );
}

function Routes() {
  const r = route(usePath());
  switch (r.name) {
    case 'appointment':
      return <AppointmentPage id={r.id} />;
    case 'console':
      return <ConsolePage />;
    case 'signInCallback':
      return <SignInCallbackPage />;
    default:
      return <SearchPage />;
  }
}

function Header() {
  const { t, lang, setLang } = useI18n();
  const { session } = useStore(auth);
  // The console has its own sign-in (an agent's): the customer's is not offered there, nor while
  // a sign-in comes back from the identity provider.
  const here = route(usePath()).name;
  const noCustomerSignIn = here === 'console' || here === 'signInCallback';
  const { mode, label, busy, problem, start } = useSignIn();

  return (
    <header className="top">
      <div className="top-inner">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          {t('appName')}
        </a>
        <div className="top-tools">
          <label className="lang">
            <span className="visually-hidden">{t('language')}</span>
            <select value={lang} onChange={(e) => setLang(e.target.value as Lang)} aria-label={t('language')}>
              {LANGS.map((l) => (
                <option key={l} value={l} lang={HTML_LANGS[l]}>
                  {LANG_NAMES[l]}
                </option>
              ))}
            </select>
          </label>
          {noCustomerSignIn ? null : session ? (
            <span className="who">
              <span className="party" title={session.partyId}>
                {t('signedInAs', { party: session.partyId })}
              </span>
              <button type="button" onClick={signOut} data-testid="sign-out">
                {t('signOut')}
              </button>
            </span>
          ) : mode === 'none' ? (
            <span className="muted" data-testid="sign-in-unavailable">
              {t('signInNone')}
            </span>
          ) : (
            <button type="button" className="primary" onClick={() => void start()} disabled={busy} data-testid="sign-in">
              {label}
            </button>
          )}
        </div>
      </div>
      <div aria-live="polite">{problem && <p className="top-problem">{t(problem)}</p>}</div>
    </header>
  );
}

// The hub's other faces, for developers: the GraphQL explorer and the TMF646 reference.
function Footer() {
  const { t } = useI18n();
  return (
    <footer className="footer">
      <a href="/graphql">{t('footerGraphQL')}</a> · <a href="/docs/tmf646">{t('footerTMF')}</a>
    </footer>
  );
}

function OfflineBanner() {
  const { t } = useI18n();
  const c = useStore(connection);
  const down = c.wsDown || c.httpDown;
  return (
    <div aria-live="polite" className="banner-slot">
      {down && (
        <p className="banner offline" data-testid="offline" role="status">
          {t('offline')}
        </p>
      )}
    </div>
  );
}

function SessionNotice() {
  const { t } = useI18n();
  const { notice, session } = useStore(auth);
  const { mode, label, busy, problem, start } = useSignIn();
  return (
    <div aria-live="polite" className="banner-slot">
      {notice === 'expired' && !session && (
        <p className="banner warn">
          {t('sessionExpired')}{' '}
          {mode !== 'none' && (
            <button type="button" onClick={() => void start()} disabled={busy}>
              {label}
            </button>
          )}
          {problem && <span className="problem"> {t(problem)}</span>}
        </p>
      )}
    </div>
  );
}
