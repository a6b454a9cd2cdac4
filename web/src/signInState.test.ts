import { describe, expect, it } from 'vitest';
import {
  callbackProblem,
  expiresAtOf,
  returnPathOf,
  returnStateFor,
  safeReturnPath,
  searchFormOf,
  searchPath,
  stillValid,
  type SearchForm,
} from './signInState';

describe('the return path', () => {
  it.each<[string, unknown, string]>([
    ['the console', '/console', '/console'],
    ['an appointment', '/appointment/abc%20123', '/appointment/abc%20123'],
    ['the search page with its search', '/?category=repair&postcode=75011', '/?category=repair&postcode=75011'],
    ['another origin', 'https://evil.example/', '/'],
    ['a protocol-relative URL', '//evil.example/x', '/'],
    ['a backslash trick', '/\\evil.example', '/'],
    ['a control character', '/console\n', '/'],
    ['the callback itself', '/signin/callback?code=x', '/'],
    ['a relative path', 'console', '/'],
    ['not a string', 42, '/'],
    ['nothing', undefined, '/'],
  ])('keeps %s as %s', (_, p, want) => {
    expect(safeReturnPath(p)).toBe(want);
  });

  it('is stored in the sign-in state before leaving and read back from it after', () => {
    const stored = returnStateFor('/?category=repair&postcode=75011');
    expect(stored).toEqual({ returnTo: '/?category=repair&postcode=75011' });
    // What oidc-client-ts hands back is what was stored, JSON round-tripped.
    expect(returnPathOf(JSON.parse(JSON.stringify(stored)))).toBe('/?category=repair&postcode=75011');
    expect(returnStateFor('https://evil.example')).toEqual({ returnTo: '/' });
    expect(returnPathOf({ returnTo: '//evil.example' })).toBe('/');
    expect(returnPathOf(undefined)).toBe('/');
    expect(returnPathOf('/console')).toBe('/');
  });
});

describe('the search across sign-in', () => {
  it.each<[string, SearchForm, string]>([
    ['nothing chosen', { category: '' }, '/'],
    ['a category only', { category: 'repair' }, '/?category=repair'],
    ['a category and a postcode', { category: 'repair', postcode: ' 75011 ' }, '/?category=repair&postcode=75011'],
    ['a category at a store', { category: 'sim-swap', store: 'store-paris-opera' }, '/?category=sim-swap&store=store-paris-opera'],
    ['characters that need escaping', { category: 'a&b', postcode: 'x y' }, '/?category=a%26b&postcode=x+y'],
  ])('stores %s', (_, form, want) => {
    const path = searchPath(form);
    expect(path).toBe(want);
    // ... and restores it after the round trip (the path is the state's returnTo).
    const back = returnPathOf(returnStateFor(path));
    const restored = searchFormOf(back.slice(back.indexOf('?') + 1 || back.length));
    if (!form.category) expect(restored).toBeNull();
    else expect(restored).toEqual({ category: form.category, ...(form.postcode ? { postcode: form.postcode.trim() } : {}), ...(form.store ? { store: form.store } : {}) });
  });

  it('finds no search in a query without a category', () => {
    expect(searchFormOf('')).toBeNull();
    expect(searchFormOf('?postcode=75011')).toBeNull();
    expect(searchFormOf('?category=%20')).toBeNull();
    expect(searchFormOf('?category=repair&postcode=')).toEqual({ category: 'repair' });
  });
});

describe('session expiry', () => {
  const now = Date.parse('2027-03-28T08:00:00Z');
  it.each<[string, number | undefined | null, string | null]>([
    ['seconds since the epoch', now / 1000 + 300, '2027-03-28T08:05:00.000Z'],
    ['none given', undefined, null],
    ['null', null, null],
    ['zero', 0, null],
    ['not a number', Number.NaN, null],
  ])('expires_at %s', (_, expiresAt, want) => {
    expect(expiresAtOf(expiresAt)).toBe(want);
  });

  it.each<[string | null, boolean]>([
    ['2027-03-28T08:05:00Z', true],
    ['2027-03-28T08:00:00Z', false],
    ['2027-03-28T07:59:59Z', false],
    [null, true],
    ['garbage', false],
  ])('a session ending %s is on: %s', (end, want) => {
    expect(stillValid(end, now)).toBe(want);
  });
});

describe('a failed callback in words', () => {
  const providerError = (error: string, error_description?: string) =>
    Object.assign(new Error(error_description ?? error), { name: 'ErrorResponse', error, error_description: error_description ?? null });

  it.each<[string, unknown, ReturnType<typeof callbackProblem>]>([
    ['refused at the provider', providerError('access_denied', 'User cancelled'), { key: 'cb_denied', detail: 'User cancelled' }],
    ['a token endpoint refusal', providerError('invalid_grant'), { key: 'cb_failed', detail: 'invalid_grant' }],
    ['a state not found (another tab, used already)', new Error('No matching state found in storage'), { key: 'cb_stale' }],
    ['no state at all (the page opened by hand)', new Error('No state in response'), { key: 'cb_stale' }],
    ['the provider unreachable', new TypeError('Failed to fetch'), { key: 'signInProviderDown' }],
    ['a timeout', Object.assign(new Error('Network timed out'), { name: 'ErrorTimeout' }), { key: 'signInProviderDown' }],
    ['anything else', new Error('Invalid response_type'), { key: 'cb_failed' }],
    ['not even an error', undefined, { key: 'cb_failed' }],
  ])('%s', (_, e, want) => {
    expect(callbackProblem(e)).toEqual(want);
  });
});
