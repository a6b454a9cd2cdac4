import { useEffect, useRef, useState } from 'react';
import { adoptOidcUser } from '../auth';
import { whenConfigKnown } from '../config';
import { adoptConsoleUser } from '../consoleAuth';
import { useI18n, type MessageKey } from '../i18n';
import { completeSignIn, pendingSignIn, startSignIn } from '../oidc';
import { navigate } from '../router';
import { callbackProblem, type CallbackProblem } from '../signInState';

type Outcome = { to: string } | (CallbackProblem & { stage: 'config' | 'callback' });

let finishing: { key: string; promise: Promise<Outcome> } | null = null;

/**
 * Finishes the sign-in the provider sent back: tokens for the code, then the hub asked who that
 * is. Once per callback URL, whatever React mounts: a code is good for one exchange only.
 */
function finish(url: string, attempt: number): Promise<Outcome> {
  const key = `${attempt} ${url}`;
  if (finishing?.key === key) return finishing.promise;
  const promise = (async (): Promise<Outcome> => {
    const cfg = await whenConfigKnown(15000);
    if (!cfg) return { stage: 'config', key: 'err_NETWORK' };
    if (cfg.signIn !== 'oidc') return { stage: 'callback', key: 'signInNone' };
    let done;
    try {
      done = await completeSignIn(cfg.oidc, url);
    } catch (e) {
      return { stage: 'callback', ...callbackProblem(e) };
    }
    const refusal =
      done.purpose === 'console' ? await adoptConsoleUser(done.user, cfg.oidc) : await adoptOidcUser(done.user, cfg.oidc);
    // The console says why it refused, beside its other way in (a pasted token).
    if (refusal === 'con_notAgent') return { to: '/console' };
    if (refusal) return { stage: 'callback', key: refusal };
    return { to: done.returnTo };
  })();
  finishing = { key, promise };
  return promise;
}

/** /signin/callback: where the identity provider sends the browser back after signing in. */
export function SignInCallbackPage() {
  const { t, lang } = useI18n();
  const [attempt, setAttempt] = useState(0);
  const [failed, setFailed] = useState<(CallbackProblem & { stage: string }) | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const pending = pendingSignIn();
  const back = pending?.returnTo ?? '/';

  useEffect(() => {
    let live = true;
    void finish(location.href, attempt).then((o) => {
      if (!live) return;
      if ('to' in o) navigate(o.to, null, true);
      else {
        setFailed(o);
        heading.current?.focus();
      }
    });
    return () => {
      live = false;
    };
  }, [attempt]);

  async function tryAgain() {
    if (!failed) return;
    // The hub could not be asked: the callback itself is still good.
    if (failed.stage === 'config') {
      setFailed(null);
      setAttempt((n) => n + 1);
      return;
    }
    // The code and its state are spent: sign in afresh, for the same session and page.
    setBusy(true);
    const cfg = await whenConfigKnown();
    if (cfg?.signIn !== 'oidc') {
      setBusy(false);
      setFailed({ stage: 'callback', key: 'signInNone' });
      return;
    }
    try {
      await startSignIn(pending?.purpose ?? 'customer', cfg.oidc, back, lang);
    } catch (e) {
      setFailed({ stage: 'callback', ...callbackProblem(e) });
    }
    setBusy(false);
  }

  const key: MessageKey = failed?.key ?? 'cb_working';
  return (
    <main id="main" className="page">
      <h1 ref={heading} tabIndex={-1} className="focus-target">
        {t('cb_title')}
      </h1>
      <div className="panel">
        {!failed ? (
          <p role="status" data-testid="sign-in-working">
            {t('cb_working')}
          </p>
        ) : (
          <>
            <div className="alert" role="alert" data-testid="sign-in-error" data-code={failed.key}>
              <p className="problem">{t(key)}</p>
              {failed.detail && <p className="muted">{t('cb_detail', { detail: failed.detail })}</p>}
            </div>
            <div className="actions">
              <button type="button" className="primary" data-testid="sign-in-retry" disabled={busy} onClick={() => void tryAgain()}>
                {t('cb_tryAgain')}
              </button>
              <button type="button" onClick={() => navigate(back, null, true)}>
                {t('cb_back')}
              </button>
            </div>
          </>
        )}
      </div>
    </main>
  );
}
