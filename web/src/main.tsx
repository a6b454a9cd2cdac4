import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { resumeOidcSession } from './auth';
import { clientFollowingAuth } from './client';
import { hubConfig, loadConfig } from './config';
import { resumeConsoleOidcSession } from './consoleAuth';
import './styles.css';

const clients = clientFollowingAuth();

// How this hub signs browsers in, asked once (again and again while the hub cannot say). With an
// identity provider, the sessions signed in there follow their provider's user (renewals).
const stop = hubConfig.subscribe(() => {
  const s = hubConfig.get();
  if (s.status !== 'ready') return;
  stop();
  if (s.config.signIn === 'oidc') {
    resumeOidcSession(s.config.oidc);
    resumeConsoleOidcSession(s.config.oidc);
  }
});
loadConfig();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App clients={clients} />
  </StrictMode>,
);
