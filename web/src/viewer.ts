// Who the hub says a token's holder is: the party shown, and for the console its roles and
// what it serves. The hub verifies the token; nothing is read from the token itself.
import { Client, fetchExchange } from '@urql/core';
import { problemOf, type Problem } from './errors';
import { graphql } from './gql';
import type { ViewerQuery as ViewerData } from './gql/graphql';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer { partyId roles resources places parties expiresAt }
  }
`);

export type Viewer = NonNullable<ViewerData['viewer']>;

/** The hub's answer for a token: the viewer (null: anonymous), or why it could not say. */
export type ViewerAnswer = { ok: true; viewer: Viewer | null } | { ok: false; problem: Problem };

export async function fetchViewer(token: string): Promise<ViewerAnswer> {
  // A client of its own: the token is not the session's yet.
  const client = new Client({
    url: '/graphql',
    exchanges: [fetchExchange],
    fetchOptions: { headers: { Authorization: `Bearer ${token}` } },
    requestPolicy: 'network-only',
  });
  try {
    const res = await client.query(ViewerQuery, {}).toPromise();
    const p = problemOf(res.error);
    if (p) return { ok: false, problem: p };
    return { ok: true, viewer: res.data?.viewer ?? null };
  } catch {
    return { ok: false, problem: { code: 'NETWORK', key: 'err_NETWORK' } };
  }
}
