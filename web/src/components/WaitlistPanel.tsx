import { useEffect, useId, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  AcceptWaitlistOfferMutation,
  DeclineWaitlistOfferMutation,
  JoinWaitlistMutation,
  LeaveWaitlistMutation,
  WaitlistEntriesQuery,
  WaitlistOffersSubscription,
} from '../operations';
import { useI18n, type MessageKey } from '../i18n';
import { problemOf, problemOfUserError, type Problem } from '../errors';
import { auth } from '../auth';
import { useStore } from '../store';
import { navigate } from '../router';
import { formatDateTime } from '../time';
import { activeEntries, alreadyWaiting, joinWaitlistInput, openOffer, STATUS_KEYS, WAITLIST_DAYS } from '../waitlist';
import { ProblemText, useNow } from './common';
import { SignInButton } from './SignIn';

/**
 * The search page's waitlist: "Join the waitlist" for what was searched (the next 14 days), and
 * "My waitlist" with Accept and Decline on an open offer. Offers are pushed by waitlistOffers.
 */
export function WaitlistPanel({ search, timeZone }: { search: { category: string; place: string }; timeZone: string }) {
  const { t, locale } = useI18n();
  const id = useId();
  const { session } = useStore(auth);
  const now = useNow(30_000, !!session);
  const [entries, reload] = useQuery({ query: WaitlistEntriesQuery, pause: !session, requestPolicy: 'cache-and-network' });
  const [pushed] = useSubscription({ query: WaitlistOffersSubscription, pause: !session });
  const pushedOffer = pushed.data?.waitlistOffers.offer.id;
  useEffect(() => {
    if (pushedOffer) reload({ requestPolicy: 'network-only' });
  }, [pushedOffer, reload]);
  const [{ fetching: joining }, join] = useMutation(JoinWaitlistMutation);
  const [{ fetching: answering }, accept] = useMutation(AcceptWaitlistOfferMutation);
  const [, decline] = useMutation(DeclineWaitlistOfferMutation);
  const [, leave] = useMutation(LeaveWaitlistMutation);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState<MessageKey | null>(null);

  const list = activeEntries(entries.data?.waitlistEntries);
  const waiting = alreadyWaiting(entries.data?.waitlistEntries, search);

  function settle(p: { error?: { __typename?: string; code: string; field?: string | null } | null } | null | undefined, err: Parameters<typeof problemOf>[0]) {
    if (p?.error) setProblem(problemOfUserError(p.error));
    else if (err) setProblem(problemOf(err));
    reload({ requestPolicy: 'network-only' });
  }

  async function onJoin() {
    setProblem(null);
    setDone(null);
    const res = await join({ input: joinWaitlistInput(search, Date.now()) });
    if (res.data?.joinWaitlist.entry) setDone('wl_joined');
    settle(res.data?.joinWaitlist, res.error);
  }

  async function onAccept(entryId: string) {
    setProblem(null);
    const res = await accept({ entryId });
    const a = res.data?.acceptWaitlistOffer.appointment;
    if (a) return navigate(`/appointment/${encodeURIComponent(a.id)}`, { justBooked: true });
    settle(res.data?.acceptWaitlistOffer, res.error);
  }

  async function onDecline(entryId: string) {
    setProblem(null);
    const res = await decline({ entryId });
    settle(res.data?.declineWaitlistOffer, res.error);
  }

  async function onLeave(entryId: string) {
    setProblem(null);
    const res = await leave({ id: entryId });
    settle(res.data?.leaveWaitlist, res.error);
  }

  return (
    <section className="panel waitlist" aria-labelledby={session && list.length > 0 ? `${id}-title` : undefined} data-testid="waitlist">
      <p>{t('wl_joinHint', { days: String(WAITLIST_DAYS) })}</p>
      {!session ? (
        <>
          <p>{t('wl_signIn')}</p>
          <SignInButton />
        </>
      ) : waiting ? (
        <p>{t('wl_already')}</p>
      ) : (
        <button type="button" data-testid="join-waitlist" disabled={joining} onClick={() => void onJoin()}>
          {joining ? t('wl_joining') : t('wl_join')}
        </button>
      )}
      <div aria-live="polite">
        {done && <p>{t(done)}</p>}
        {problem && <ProblemText problem={problem} />}
      </div>
      {session && list.length > 0 && (
        <>
          <h2 id={`${id}-title`}>{t('wl_title')}</h2>
          <ul className="waitlist-list">
            {list.map((e) => {
              const offer = openOffer(e, now);
              return (
                <li key={e.id} data-testid="waitlist-entry" data-status={e.status}>
                  <span>
                    {e.category?.name ?? e.category?.id} — {e.place}: {t(STATUS_KEYS[e.status])}
                  </span>
                  {offer ? (
                    <div className="waitlist-offer">
                      <p>{t('wl_offer', { when: formatDateTime(offer.start, timeZone, locale) })}</p>
                      <p>{t('wl_offerUntil', { time: formatDateTime(offer.expiresAt, timeZone, locale) })}</p>
                      <button type="button" className="primary" data-testid="waitlist-accept" disabled={answering} onClick={() => void onAccept(e.id)}>
                        {t('wl_accept')}
                      </button>{' '}
                      <button type="button" data-testid="waitlist-decline" disabled={answering} onClick={() => void onDecline(e.id)}>
                        {t('wl_decline')}
                      </button>
                    </div>
                  ) : (
                    <button type="button" data-testid="waitlist-leave" onClick={() => void onLeave(e.id)}>
                      {t('wl_leave')}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}
