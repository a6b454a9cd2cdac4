import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { clientFollowingAuth } from './client';
import './styles.css';

const clients = clientFollowingAuth();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App clients={clients} />
  </StrictMode>,
);
