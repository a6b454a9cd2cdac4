import { describe, expect, it } from 'vitest';
import { parseConfig, type HubConfig } from './config';

describe('/config.json', () => {
  const oidc = (authority: string, clientId: string, scope: string): HubConfig => ({ signIn: 'oidc', oidc: { authority, clientId, scope } });

  it.each<[string, unknown, HubConfig | null]>([
    ['the demo sign-in', { signIn: 'demo' }, { signIn: 'demo' }],
    ['no browser sign-in', { signIn: 'none' }, { signIn: 'none' }],
    [
      'an identity provider',
      { signIn: 'oidc', oidc: { authority: 'https://idp.example/realms/apphub', clientId: 'apphub-web', scope: 'openid profile' } },
      oidc('https://idp.example/realms/apphub', 'apphub-web', 'openid profile'),
    ],
    [
      'an identity provider, openid added to its scope',
      { signIn: 'oidc', oidc: { authority: 'https://idp.example', clientId: 'web', scope: 'profile  email' } },
      oidc('https://idp.example', 'web', 'openid profile email'),
    ],
    ['an identity provider with no scope', { signIn: 'oidc', oidc: { authority: 'http://localhost:8081', clientId: 'web' } }, oidc('http://localhost:8081', 'web', 'openid')],
    ['unknown fields ignored', { signIn: 'demo', theme: 'dark' }, { signIn: 'demo' }],
    ['oidc without its settings', { signIn: 'oidc' }, null],
    ['oidc without a client', { signIn: 'oidc', oidc: { authority: 'https://idp.example', clientId: ' ' } }, null],
    ['oidc with an authority that is no URL', { signIn: 'oidc', oidc: { authority: 'idp.example', clientId: 'web' } }, null],
    ['oidc with a script for an authority', { signIn: 'oidc', oidc: { authority: 'javascript:alert(1)', clientId: 'web' } }, null],
    ['oidc with settings of the wrong kind', { signIn: 'oidc', oidc: ['https://idp.example', 'web'] }, null],
    ['a mode this app does not know', { signIn: 'saml' }, null],
    ['no mode', {}, null],
    ['a mode of the wrong case', { signIn: 'DEMO' }, null],
    ['an array', [{ signIn: 'demo' }], null],
    ['a string', 'demo', null],
    ['null (unparseable JSON)', null, null],
  ])('%s', (_, body, want) => {
    expect(parseConfig(body)).toEqual(want);
  });
});
