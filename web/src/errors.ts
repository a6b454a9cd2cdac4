import type { CombinedError } from '@urql/core';
import type { MessageKey } from './i18n';

// Codes the hub sends, as GraphQL errors' extensions.code or as UserError.code, each with the
// message a customer reads. Anything else falls back to the __typename, then to a generic message.
const CODE_KEYS: Record<string, MessageKey> = {
  UNAUTHENTICATED: 'err_UNAUTHENTICATED',
  FORBIDDEN: 'err_FORBIDDEN',
  RATE_LIMITED: 'err_RATE_LIMITED',
  VALIDATION: 'err_VALIDATION',
  BAD_USER_INPUT: 'err_VALIDATION',
  GRAPHQL_VALIDATION_FAILED: 'err_VALIDATION',
  NOT_FOUND: 'err_NOT_FOUND',
  UNAVAILABLE: 'err_UNAVAILABLE',
  INTERNAL: 'err_INTERNAL',
  NETWORK: 'err_NETWORK',
  SLOT_TAKEN: 'err_SLOT_TAKEN',
  FULLY_BOOKED: 'err_FULLY_BOOKED',
  HOLIDAY: 'err_HOLIDAY',
  OUTSIDE_HOURS: 'err_OUTSIDE_HOURS',
  INSIDE_MINIMUM_NOTICE: 'err_INSIDE_MINIMUM_NOTICE',
  OUTSIDE_HORIZON: 'err_OUTSIDE_HORIZON',
  NOT_A_SLOT_START: 'err_NOT_A_SLOT_START',
  NO_SKILLED_RESOURCE_IN_ZONE: 'err_NO_SKILLED_RESOURCE_IN_ZONE',
  HOLD_EXPIRED: 'err_HOLD_EXPIRED',
  VERSION_CONFLICT: 'err_VERSION_CONFLICT',
  STALE_VERSION: 'err_VERSION_CONFLICT',
  CONFLICT: 'err_CONFLICT',
  PRECONDITION_FAILED: 'err_VERSION_CONFLICT',
  INVALID_TRANSITION: 'err_INVALID_TRANSITION',
  APPOINTMENT_NOT_ACTIVE: 'err_APPOINTMENT_NOT_ACTIVE',
  IDEMPOTENCY_KEY_REUSED: 'err_IDEMPOTENCY_KEY_REUSED',
  REQUEST_IN_PROGRESS: 'err_REQUEST_IN_PROGRESS',
  COMMIT_TOO_LATE: 'err_COMMIT_TOO_LATE',
};

const TYPENAME_KEYS: Record<string, MessageKey> = {
  SlotUnavailable: 'err_SLOT_TAKEN',
  HoldExpired: 'err_HOLD_EXPIRED',
  VersionConflict: 'err_VERSION_CONFLICT',
  InvalidTransition: 'err_INVALID_TRANSITION',
  ValidationError: 'err_VALIDATION',
  NotFound: 'err_NOT_FOUND',
  IdempotencyConflict: 'err_IDEMPOTENCY_KEY_REUSED',
};

/** The translated message key for an error code (and optionally the UserError's __typename). */
export function errorMessageKey(code?: string | null, typename?: string | null): MessageKey {
  if (code && Object.prototype.hasOwnProperty.call(CODE_KEYS, code)) return CODE_KEYS[code];
  if (typename && Object.prototype.hasOwnProperty.call(TYPENAME_KEYS, typename)) return TYPENAME_KEYS[typename];
  return 'err_UNKNOWN';
}

export interface Problem {
  code: string;
  key: MessageKey;
  field?: string;
}

/** A request's failure (network or GraphQL errors) as a customer-facing problem. */
export function problemOf(error: CombinedError | undefined | null): Problem | null {
  if (!error) return null;
  const gql = error.graphQLErrors?.[0];
  if (gql) {
    const ext = (gql.extensions ?? {}) as Record<string, unknown>;
    const code = typeof ext.code === 'string' ? ext.code : 'UNKNOWN';
    const field = typeof ext.field === 'string' ? ext.field : undefined;
    return { code, key: errorMessageKey(code), field };
  }
  if (error.networkError) {
    // A websocket closed with 4401 means the credential was refused or ran out.
    const ne = error.networkError as unknown as { code?: number };
    if (ne && ne.code === 4401) return { code: 'UNAUTHENTICATED', key: 'err_UNAUTHENTICATED' };
    const status = (error.response as { status?: number } | undefined)?.status;
    if (status === 401) return { code: 'UNAUTHENTICATED', key: 'err_UNAUTHENTICATED' };
    if (status === 429) return { code: 'RATE_LIMITED', key: 'err_RATE_LIMITED' };
    return { code: 'NETWORK', key: 'err_NETWORK' };
  }
  return { code: 'UNKNOWN', key: 'err_UNKNOWN' };
}

/** A payload's typed refusal as a customer-facing problem. */
export function problemOfUserError(e: { __typename?: string; code: string; field?: string | null }): Problem {
  return { code: e.code, key: errorMessageKey(e.code, e.__typename), field: e.field ?? undefined };
}

export function isUnauthenticated(p: Problem | null): boolean {
  return p?.code === 'UNAUTHENTICATED';
}

// The agent console words some refusals for the agent rather than the customer.
const CONSOLE_KEYS: Record<string, MessageKey> = {
  VERSION_CONFLICT: 'con_err_VERSION_CONFLICT',
  STALE_VERSION: 'con_err_VERSION_CONFLICT',
  PRECONDITION_FAILED: 'con_err_VERSION_CONFLICT',
  CONFLICT: 'con_err_CONFLICT',
  INVALID_TRANSITION: 'con_err_INVALID_TRANSITION',
  APPOINTMENT_NOT_ACTIVE: 'con_err_INVALID_TRANSITION',
  FORBIDDEN: 'con_err_FORBIDDEN',
  NOT_FOUND: 'con_err_NOT_FOUND',
  UNAUTHENTICATED: 'con_err_UNAUTHENTICATED',
};

/** The message key an agent reads for a problem. */
export function consoleMessageKey(p: Problem): MessageKey {
  return Object.prototype.hasOwnProperty.call(CONSOLE_KEYS, p.code) ? CONSOLE_KEYS[p.code] : p.key;
}
