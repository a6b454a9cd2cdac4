import { useState } from 'react';
import { signIn, SignInProviderDown, SignInUnavailable } from '../auth';
import { hubConfig } from '../config';
import { useI18n, type MessageKey } from '../i18n';
import { useStore } from '../store';

export type SignInMode = 'demo' | 'oidc' | 'none' | 'unknown';

/** The customer's sign-in as this hub offers it, with its progress and refusal. */
export function useSignIn() {
  const { t, lang } = useI18n();
  const cfg = useStore(hubConfig);
  const mode: SignInMode = cfg.status === 'ready' ? cfg.config.signIn : 'unknown';
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<MessageKey | null>(null);

  async function start() {
    setBusy(true);
    setProblem(null);
    try {
      // With an identity provider the page leaves; this settles only if the browser comes back to it.
      await signIn(undefined, lang);
    } catch (e) {
      setProblem(e instanceof SignInUnavailable ? e.key : e instanceof SignInProviderDown ? 'signInProviderDown' : 'signInFailed');
    } finally {
      setBusy(false);
    }
  }

  // A hub that has not said (or is older than /config.json) gets the demo sign-in, as before.
  const label = mode === 'oidc' || cfg.status === 'loading' ? t('signInAccount') : t('signIn');
  return { mode, label, busy, problem, start };
}

/** A sign-in button for where the customer must sign in first; words instead where there is no sign-in. */
export function SignInButton() {
  const { t } = useI18n();
  const { mode, label, busy, problem, start } = useSignIn();
  if (mode === 'none') return <p data-testid="sign-in-unavailable">{t('signInNone')}</p>;
  return (
    <>
      <button type="button" className="primary" onClick={() => void start()} disabled={busy}>
        {label}
      </button>
      <div aria-live="polite">{problem && <p className="problem">{t(problem)}</p>}</div>
    </>
  );
}
