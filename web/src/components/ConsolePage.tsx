import { useI18n } from '../i18n';
import { navigate } from '../router';

/** Placeholder: the agent console comes later. */
export function ConsolePage() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <h1>{t('consoleTitle')}</h1>
      <div className="panel">
        <p>{t('consoleSignIn')}</p>
        <p className="muted">{t('consoleLater')}</p>
        <button type="button" onClick={() => navigate('/')}>
          {t('backHome')}
        </button>
      </div>
    </main>
  );
}
