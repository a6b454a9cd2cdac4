import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import {
  AppointmentChangedSubscription,
  AppointmentQuery,
  CancelMutation,
  PickersQuery,
  RescheduleMutation,
} from '../operations';
import type { AppointmentChangedSubscription as ChangeData } from '../gql/graphql';
import { useI18n, type MessageKey } from '../i18n';
import { problemOf, problemOfUserError, type Problem } from '../errors';
import { fetchCalendarLink } from '../calendarFile';
import { auth } from '../auth';
import { useStore } from '../store';
import { navigate } from '../router';
import { formatDateTime, sameInstant } from '../time';
import { crewNames, type CrewMember } from '../crew';
import { Alternatives, ProblemText, SlotRange, timeZoneOf } from './common';
import { SlotGrid, type Slot } from './SlotGrid';
import { SignInButton } from './SignIn';

interface Live {
  id: string;
  version: number;
  status: string;
  statusReason?: string | null;
  start: string;
  end: string;
  crew?: CrewMember[];
}

type Change = ChangeData['appointmentChanged'];

const ACTIVE = new Set(['INITIALIZED', 'CONFIRMED']);

/** "Add to calendar": asking the hub for a fresh link, the browser given it, or why not. */
type CalendarState = { phase: 'idle' } | { phase: 'fetching' } | { phase: 'ready' } | { phase: 'failed'; problem: Problem };

export function AppointmentPage({ id }: { id: string }) {
  const { t } = useI18n();
  const { session } = useStore(auth);
  if (!session) {
    return (
      <main id="main" className="page">
        <h1>{t('appointmentTitle')}</h1>
        <div className="panel">
          <p>{t('signInToSee')}</p>
          <SignInButton />
        </div>
      </main>
    );
  }
  // A renewed token of the same customer keeps the page (and its live status) as it is.
  return <AppointmentView key={`${id}:${session.partyId}`} id={id} />;
}

function AppointmentView({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const ids = useId();
  const [q, reexecute] = useQuery({ query: AppointmentQuery, variables: { id }, requestPolicy: 'cache-and-network' });
  const [pickers] = useQuery({ query: PickersQuery });
  const [sub] = useSubscription<ChangeData, Change | undefined>(
    { query: AppointmentChangedSubscription, variables: { id } },
    (prev, data) => {
      const next = data.appointmentChanged;
      return !prev || next.version >= prev.version ? next : prev;
    },
  );
  const [mutated, setMutated] = useState<Live | null>(null);
  const [mode, setMode] = useState<'view' | 'reschedule' | 'cancel'>('view');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [alternatives, setAlternatives] = useState<Slot[]>([]);
  const [done, setDone] = useState<MessageKey | null>(null);
  const [doneWhen, setDoneWhen] = useState('');
  const [{ fetching: rescheduling }, reschedule] = useMutation(RescheduleMutation);
  const [{ fetching: cancelling }, cancel] = useMutation(CancelMutation);
  const client = useClient();
  const [calendar, setCalendar] = useState<CalendarState>({ phase: 'idle' });
  // The latest "Add to calendar" asked; an older answer (or one after a reset) is dropped.
  const calendarRun = useRef(0);

  const base = q.data?.appointment;
  // The newest state among the query, the live changes and our own mutations.
  const live: Live | null = useMemo(() => {
    const candidates: Live[] = [];
    if (base) candidates.push(base);
    if (sub.data) candidates.push(sub.data.appointment);
    if (mutated) candidates.push(mutated);
    return candidates.reduce<Live | null>((a, b) => (!a || b.version > a.version ? b : a), null);
  }, [base, sub.data, mutated]);

  // Rescheduled: the start moved since we first saw it (or a change said so).
  const firstStart = useRef<string | null>(null);
  if (live && firstStart.current === null) firstStart.current = live.start;
  const moved =
    (live && firstStart.current && !sameInstant(firstStart.current, live.start)) ||
    (sub.data?.kind !== 'CURRENT' && sub.data?.fields.includes('validFor'));

  const currentSlot = useMemo(() => (live ? { start: live.start, end: live.end } : undefined), [live]);
  const tz = timeZoneOf(base?.place, pickers.data) ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const justBooked = (history.state as { justBooked?: boolean } | null)?.justBooked === true;

  useEffect(() => {
    if (live && !ACTIVE.has(live.status) && mode !== 'view') setMode('view');
  }, [live, mode]);

  if (!base && q.fetching) return <main id="main" className="page"><p aria-live="polite">{t('loading')}</p></main>;
  if (!base || !live) {
    const p = problemOf(q.error);
    return (
      <main id="main" className="page">
        <h1>{t('appointmentTitle')}</h1>
        <div className="alert" role="alert" data-testid="alternatives">
          {p && p.code !== 'NOT_FOUND' ? <ProblemText problem={p} /> : <p>{t('appointmentNotFound')}</p>}
        </div>
        <button type="button" onClick={() => navigate('/')}>{t('newSearch')}</button>
      </main>
    );
  }

  // A reschedule may change a crew's members: the newest state's crew, else the query's.
  const crew = crewNames(live.crew ?? base.crew);
  const statusKey = `status_${live.status}` as MessageKey;
  const statusLabel = t(statusKey) === statusKey ? live.status : t(statusKey);
  const active = ACTIVE.has(live.status);
  // Its calendar file can be had at every version: a cancelled one's says CANCELLED, which takes
  // the event out of (or marks it in) the calendar the customer added it to.
  const cancelledHere = live.status === 'CANCELLED';

  function resetCalendar() {
    calendarRun.current++;
    setCalendar({ phase: 'idle' });
  }

  // The link lasts 15 minutes, so a fresh one is asked for at each click and none kept in the page.
  async function onAddToCalendar() {
    if (!live || calendar.phase === 'fetching') return;
    const run = ++calendarRun.current;
    setCalendar({ phase: 'fetching' });
    const link = await fetchCalendarLink(client, live.id, window.location.origin);
    if (run !== calendarRun.current) return;
    if (!link.ok) {
      setCalendar({ phase: 'failed', problem: link.problem });
      return;
    }
    setCalendar({ phase: 'ready' });
    // The hub serves the file as an attachment: the browser downloads (or opens) it and stays here.
    window.location.assign(link.href);
  }

  async function onReschedule(slot: Slot, slotTz: string) {
    if (!live || !base) return;
    setProblem(null);
    setAlternatives([]);
    const res = await reschedule({
      input: {
        id: live.id,
        expectedVersion: live.version,
        start: slot.start,
        end: base.category && base.category.stepMinutes == null ? slot.end : undefined,
      },
    });
    const p = res.data?.rescheduleAppointment;
    if (p?.appointment) {
      setMutated(p.appointment);
      setMode('view');
      setDone('rescheduled');
      setDoneWhen(formatDateTime(p.appointment.start, slotTz, locale));
      return;
    }
    if (p?.error) {
      setProblem(problemOfUserError(p.error));
      if (p.error.__typename === 'SlotUnavailable') setAlternatives(p.error.alternatives);
      if (p.error.__typename === 'VersionConflict') reexecute({ requestPolicy: 'network-only' });
      return;
    }
    setProblem(problemOf(res.error));
  }

  async function onCancel(e: React.FormEvent) {
    e.preventDefault();
    if (!live) return;
    setProblem(null);
    const res = await cancel({ input: { id: live.id, expectedVersion: live.version, reason: reason.trim() || undefined } });
    const p = res.data?.cancelAppointment;
    if (p?.appointment) {
      setMutated(p.appointment);
      setMode('view');
      setDone('cancelled');
      return;
    }
    if (p?.error) {
      setProblem(problemOfUserError(p.error));
      if (p.error.__typename === 'VersionConflict') reexecute({ requestPolicy: 'network-only' });
      return;
    }
    setProblem(problemOf(res.error));
  }

  return (
    <main id="main" className="page">
      <h1>{t('appointmentTitle')}</h1>
      {justBooked && <p className="success" role="status">{t('booked')}</p>}
      <section className="panel appointment" aria-labelledby={`${ids}-title`}>
        <h2 id={`${ids}-title`} className="visually-hidden">
          {t('appointmentTitle')}
        </h2>
        <dl>
          <dt>{t('what')}</dt>
          <dd>{base.category?.name ?? '—'}</dd>
          {crew.length > 0 && (
            <>
              <dt>{t('crew')}</dt>
              <dd data-testid="crew">
                <ul className="crew">
                  {crew.map((name, i) => (
                    <li key={i}>{name}</li>
                  ))}
                </ul>
              </dd>
            </>
          )}
          <dt>{t('when')}</dt>
          <dd>
            {formatDateTime(live.start, tz, locale)} (<SlotRange slot={live} timeZone={tz} />)
            <span className="muted"> · {tz.replace(/_/g, ' ')}</span>
          </dd>
          <dt>{t('status')}</dt>
          <dd>
            <div role="status" aria-live="polite" aria-atomic="true">
              <strong data-testid="status" data-status={live.status} className={`status status-${live.status.toLowerCase()}`}>
                {statusLabel}
                {moved && active ? ` · ${t('status_RESCHEDULED')}` : ''}
              </strong>
              {live.statusReason && <span className="muted"> — {live.statusReason}</span>}
            </div>
          </dd>
        </dl>
        <div aria-live="polite">
          {done === 'rescheduled' && <p className="success">{t('rescheduled', { when: doneWhen })}</p>}
          {done === 'cancelled' && <p className="success">{t('cancelled')}</p>}
          {calendar.phase === 'fetching' && (
            <p data-testid="calendar-status" data-state="fetching">{t('calendarFetching')}</p>
          )}
          {calendar.phase === 'ready' && (
            <p className="success" data-testid="calendar-status" data-state="ready">{t('calendarReady')}</p>
          )}
          {calendar.phase === 'failed' && (
            <p className="problem" data-testid="calendar-status" data-state="failed" data-code={calendar.problem.code}>
              {t('calendarFailed', { reason: t(calendar.problem.key) })}
            </p>
          )}
        </div>
        {mode === 'view' && (
          <div className="actions">
            {active && (
              <>
                <button type="button" data-testid="reschedule" onClick={() => { setDone(null); setProblem(null); resetCalendar(); setMode('reschedule'); }}>
                  {t('reschedule')}
                </button>
                <button type="button" className="danger" data-testid="cancel" onClick={() => { setDone(null); setProblem(null); resetCalendar(); setMode('cancel'); }}>
                  {t('cancel')}
                </button>
              </>
            )}
            <button
              type="button"
              data-testid="add-to-calendar"
              // aria-disabled rather than disabled: the button keeps the keyboard focus meanwhile.
              aria-disabled={calendar.phase === 'fetching' || undefined}
              onClick={() => void onAddToCalendar()}
            >
              {t(cancelledHere ? 'calendarUpdate' : 'calendarAdd')}
            </button>
          </div>
        )}
        {active && mode === 'cancel' && (
          <form onSubmit={onCancel} className="cancel-form">
            <div className="field">
              <label htmlFor={`${ids}-reason`}>{t('cancelReason')}</label>
              <textarea
                id={`${ids}-reason`}
                data-testid="cancel-reason"
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                rows={2}
                maxLength={500}
              />
            </div>
            <div className="actions">
              <button type="submit" className="danger" data-testid="cancel-confirm" disabled={cancelling}>
                {t('cancelConfirm')}
              </button>
              <button type="button" onClick={() => setMode('view')}>
                {t('cancelKeep')}
              </button>
            </div>
          </form>
        )}
      </section>
      <Alternatives
        problem={problem}
        alternatives={alternatives}
        timeZone={tz}
        onChoose={(s) => void onReschedule(s as Slot, tz)}
        busy={rescheduling}
      />
      {active && mode === 'reschedule' && base.category && base.place && (
        <section className="panel" aria-labelledby={`${ids}-resched`}>
          <h2 id={`${ids}-resched`}>{t('rescheduleTitle')}</h2>
          <SlotGrid
            category={base.category.id}
            place={base.place}
            resource={base.resource?.id}
            current={currentSlot}
            onChoose={onReschedule}
            busy={rescheduling}
          />
          <button type="button" onClick={() => setMode('view')}>
            {t('closeReschedule')}
          </button>
        </section>
      )}
      <p>
        <button type="button" className="link" onClick={() => navigate('/')}>
          {t('newSearch')}
        </button>
      </p>
    </main>
  );
}
