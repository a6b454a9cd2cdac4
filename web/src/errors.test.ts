import { describe, expect, it } from 'vitest';
import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { errorMessageKey, problemOf, problemOfUserError } from './errors';
import { DICTS, LANGS, translator } from './i18n';

describe('errorMessageKey', () => {
  it('maps the codes the hub sends to customer messages', () => {
    expect(errorMessageKey('UNAUTHENTICATED')).toBe('err_UNAUTHENTICATED');
    expect(errorMessageKey('FORBIDDEN')).toBe('err_FORBIDDEN');
    expect(errorMessageKey('RATE_LIMITED')).toBe('err_RATE_LIMITED');
    expect(errorMessageKey('VALIDATION')).toBe('err_VALIDATION');
    expect(errorMessageKey('FULLY_BOOKED')).toBe('err_FULLY_BOOKED');
    expect(errorMessageKey('SLOT_TAKEN')).toBe('err_SLOT_TAKEN');
    expect(errorMessageKey('HOLIDAY')).toBe('err_HOLIDAY');
    expect(errorMessageKey('HOLD_EXPIRED')).toBe('err_HOLD_EXPIRED');
    expect(errorMessageKey('VERSION_CONFLICT')).toBe('err_VERSION_CONFLICT');
    expect(errorMessageKey('NOT_A_SLOT_START')).toBe('err_NOT_A_SLOT_START');
  });

  it('falls back to the typename, then to a generic message', () => {
    expect(errorMessageKey('SOMETHING_NEW', 'HoldExpired')).toBe('err_HOLD_EXPIRED');
    expect(errorMessageKey('SOMETHING_NEW', 'SlotUnavailable')).toBe('err_SLOT_TAKEN');
    expect(errorMessageKey('SOMETHING_NEW')).toBe('err_UNKNOWN');
    expect(errorMessageKey(undefined)).toBe('err_UNKNOWN');
    expect(errorMessageKey('toString')).toBe('err_UNKNOWN');
  });

  it('has every message in every language, different from the code', () => {
    for (const lang of LANGS) {
      const t = translator(lang);
      for (const key of Object.keys(DICTS.en) as (keyof typeof DICTS.en)[]) {
        expect(DICTS[lang][key], `${lang}.${key}`).toBeTruthy();
        expect(t(key)).toBe(DICTS[lang][key]);
      }
    }
    expect(translator('fr')('err_FULLY_BOOKED')).toMatch(/complet/);
    expect(translator('zh')('err_FULLY_BOOKED')).toMatch(/约满/);
    expect(translator('en')('signedInAs', { party: 'cust-1' })).toBe('Signed in as cust-1');
  });
});

describe('problemOf', () => {
  it('reads extensions.code and field of GraphQL errors', () => {
    const e = new CombinedError({
      graphQLErrors: [new GraphQLError('bad', { extensions: { code: 'VALIDATION', field: 'place' } })],
    });
    expect(problemOf(e)).toEqual({ code: 'VALIDATION', key: 'err_VALIDATION', field: 'place' });
    const u = new CombinedError({ graphQLErrors: [new GraphQLError('who', { extensions: { code: 'UNAUTHENTICATED' } })] });
    expect(problemOf(u)?.key).toBe('err_UNAUTHENTICATED');
  });

  it('treats network failures as unreachable, 401 as signed out', () => {
    expect(problemOf(new CombinedError({ networkError: new TypeError('Failed to fetch') }))?.code).toBe('NETWORK');
    expect(problemOf(new CombinedError({ networkError: new Error('x'), response: { status: 401 } }))?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect(problemOf(undefined)).toBeNull();
  });

  it('maps payload refusals', () => {
    expect(problemOfUserError({ __typename: 'SlotUnavailable', code: 'FULLY_BOOKED' }).key).toBe('err_FULLY_BOOKED');
    expect(problemOfUserError({ __typename: 'HoldExpired', code: 'X' }).key).toBe('err_HOLD_EXPIRED');
  });
});
