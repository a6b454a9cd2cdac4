import { useEffect, useId, useMemo, useReducer, useRef, useState } from 'react';
import { Provider, useMutation, useQuery, useSubscription } from 'urql';
import { hubConfig } from '../config';
import {
  consoleAuth,
  consoleClients,
  consoleSignIn,
  consoleSignInWithProvider,
  consoleSignOut,
  expireConsoleSession,
  type ConsoleAuthState,
  type ConsoleSession,
} from '../consoleAuth';
import {
  CompleteMutation,
  ConfirmMutation,
  ConsoleChangesSubscription,
  ConsoleDayQuery,
  ConsolePickersQuery,
  ConsoleSearchQuery,
  FailMutation,
} from '../consoleOperations';
import type { ConsoleApptFragment, ConsoleChangesSubscription as ChangeData } from '../gql/graphql';
import { consoleMessageKey, problemOf, problemOfUserError, type Problem } from '../errors';
import { useI18n, type MessageKey } from '../i18n';
import { useStore } from '../store';
import { addDaysToDate, formatLongDate, formatTime, localDate, zonedToUtc, toRFC3339 } from '../time';
import { Timeline, type TimelineColumn } from './Timeline';

export type Appt = ConsoleApptFragment;
type Known = Appt & { deleted?: boolean };

/** Statuses each action may be taken from (the hub's status machine). */
export const ACTIONS_FROM: Record<'confirm' | 'complete' | 'fail', readonly string[]> = {
  confirm: ['INITIALIZED'],
  complete: ['CONFIRMED'],
  fail: ['CONFIRMED'],
};

/** Keeps, for each appointment, its newest known state (highest version). */
export function mergeAppointments(known: Map<string, Known>, incoming: readonly Known[]): Map<string, Known> {
  let next: Map<string, Known> | null = null;
  for (const a of incoming) {
    const cur = (next ?? known).get(a.id);
    if (cur && (cur.version > a.version || (cur.version === a.version && (cur.deleted || !a.deleted)))) continue;
    next ??= new Map(known);
    next.set(a.id, a);
  }
  return next ?? known;
}

function knownReducer(state: Map<string, Known>, incoming: readonly Known[]) {
  return mergeAppointments(state, incoming);
}

type DayView = 'timeline' | 'list';
const VIEW_KEY = 'apphub.console.view';

/** The agent's last choice, else the timeline where there is room for it. */
function initialView(): DayView {
  try {
    const v = localStorage.getItem(VIEW_KEY);
    if (v === 'timeline' || v === 'list') return v;
  } catch {
    /* storage unavailable */
  }
  return typeof matchMedia === 'function' && matchMedia('(min-width: 700px)').matches ? 'timeline' : 'list';
}

export function ConsolePage() {
  const { t } = useI18n();
  const { session, notice } = useStore(consoleAuth);
  const client = useStore(consoleClients());

  // Sign out when the token runs out.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const id = setTimeout(expireConsoleSession, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    return () => clearTimeout(id);
  }, [session]);

  return (
    <main id="main" className="page console">
      <h1>{t('consoleTitle')}</h1>
      {session && client ? (
        <Provider value={client}>
          {/* A renewed token of the same agent keeps the page as it is (its client too). */}
          <SignedIn key={`${session.via ?? 'token'}:${session.partyId}`} session={session} />
        </Provider>
      ) : (
        <SignInForm notice={notice} />
      )}
    </main>
  );
}

function SignInForm({ notice }: { notice: ConsoleAuthState['notice'] }) {
  const { t, lang } = useI18n();
  const ids = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<MessageKey | null>(null);
  const cfg = useStore(hubConfig);
  const withProvider = cfg.status === 'ready' && cfg.config.signIn === 'oidc';
  const [leaving, setLeaving] = useState(false);
  const [providerProblem, setProviderProblem] = useState<MessageKey | null>(null);

  async function signInWithProvider() {
    setLeaving(true);
    setProviderProblem(null);
    setProblem(null);
    // The page leaves for the provider; this settles only if the browser comes back to it.
    setProviderProblem(await consoleSignInWithProvider(lang));
    setLeaving(false);
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const refusal = await consoleSignIn(token);
      if (refusal) {
        setProblem(refusal);
        // A token the console will not use is not kept, not even in the field.
        if (refusal === 'con_notAgent') setToken('');
        document.getElementById(`${ids}-token`)?.focus();
      }
    } finally {
      setBusy(false);
    }
  }

  const expired: MessageKey = withProvider ? 'con_sessionEnded' : 'con_sessionExpired';
  // A refusal of the provider's account (notice notAgent) is said beside the provider's button.
  const refusedAccount: MessageKey | null = notice === 'notAgent' ? 'con_notAgent' : null;
  const providerShown = providerProblem ?? (withProvider ? refusedAccount : null);
  const shown: MessageKey | null = problem ?? (notice === 'expired' ? expired : withProvider ? null : refusedAccount);

  return (
    <section className="panel" aria-labelledby={`${ids}-title`}>
      <h2 id={`${ids}-title`}>{t('consoleSignIn')}</h2>
      {withProvider && (
        <div className="console-oidc">
          <button
            type="button"
            className="primary"
            data-testid="console-oidc-sign-in"
            disabled={leaving}
            aria-describedby={providerShown ? `${ids}-oidc-error` : undefined}
            onClick={() => void signInWithProvider()}
          >
            {leaving ? t('con_oidcRedirecting') : t('con_oidcSignIn')}
          </button>
          <div aria-live="assertive">
            {providerShown && (
              <div className="alert" role="alert" data-testid="console-oidc-error" id={`${ids}-oidc-error`}>
                <p className="problem">{t(providerShown)}</p>
              </div>
            )}
          </div>
          <h3>{t('con_orToken')}</h3>
        </div>
      )}
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${ids}-token`}>{t('con_token')}</label>
          <p className="hint" id={`${ids}-hint`}>
            {t('con_tokenHint')}
          </p>
          <textarea
            id={`${ids}-token`}
            data-testid="console-token"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            rows={4}
            spellCheck={false}
            autoComplete="off"
            autoCapitalize="off"
            aria-describedby={`${ids}-hint${shown ? ` ${ids}-error` : ''}`}
            aria-invalid={problem ? true : undefined}
            className="token"
          />
        </div>
        <div aria-live="assertive">
          {shown && (
            <div className="alert" role="alert" data-testid="console-error" id={`${ids}-error`}>
              <p className="problem">{t(shown)}</p>
            </div>
          )}
        </div>
        <button type="submit" className="primary" data-testid="console-sign-in" disabled={busy}>
          {busy ? t('con_signingIn') : t('con_signIn')}
        </button>
      </form>
    </section>
  );
}

interface Target {
  kind: 'resource' | 'place';
  id: string;
  name: string;
  timeZone: string;
  /** For a store: the resources working there (their changes feed the day view). */
  resources: string[];
}

function SignedIn({ session }: { session: ConsoleSession }) {
  const { t, locale } = useI18n();
  const ids = useId();
  const [pickers] = useQuery({ query: ConsolePickersQuery });
  const admin = session.roles.includes('admin');
  const scoped = !admin && session.resources.length + session.places.length > 0;

  // What this principal may look at: an operator everything, an agent what it serves.
  const { resources, places } = useMemo(() => {
    const allR = pickers.data?.resources ?? [];
    const allP = pickers.data?.places ?? [];
    const resources = scoped
      ? allR.filter((r) => session.resources.includes(r.id) || (r.place != null && session.places.includes(r.place)))
      : allR;
    const places = scoped ? allP.filter((p) => session.places.includes(p.id)) : allP;
    // Technicians first: the usual day view.
    const sorted = [...resources].sort((a, b) => Number(b.kind === 'technician') - Number(a.kind === 'technician'));
    return { resources: sorted, places };
  }, [pickers.data, scoped, session.resources, session.places]);

  const resourceById = useMemo(() => new Map((pickers.data?.resources ?? []).map((r) => [r.id, r])), [pickers.data]);
  const [chosen, setChosen] = useState<string>('');
  const targetId = chosen || resources[0]?.id || places[0]?.id || '';
  const target: Target | null = useMemo(() => {
    const r = resources.find((x) => x.id === targetId);
    if (r) return { kind: 'resource', id: r.id, name: r.name, timeZone: r.timeZone, resources: [r.id] };
    const p = places.find((x) => x.id === targetId);
    if (p) {
      const rs = (pickers.data?.resources ?? []).filter((x) => x.place === p.id).map((x) => x.id);
      return { kind: 'place', id: p.id, name: p.name, timeZone: p.timeZone, resources: rs };
    }
    return null;
  }, [targetId, resources, places, pickers.data]);

  const tz = target?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [pickedDate, setPickedDate] = useState<string | null>(null);
  const today = localDate(new Date(), tz);
  const date = pickedDate ?? today;
  const from = useMemo(() => toRFC3339(zonedToUtc(date, '00:00', tz)), [date, tz]);
  const to = useMemo(() => toRFC3339(zonedToUtc(addDaysToDate(date, 1), '00:00', tz)), [date, tz]);

  const [known, upsert] = useReducer(knownReducer, new Map<string, Known>());
  const [actionProblem, setActionProblem] = useState<Problem | null>(null);

  const dayFilter = target ? (target.kind === 'resource' ? { resource: target.id, from, to } : { place: target.id, from, to }) : null;
  const [day, refetchDay] = useQuery({
    query: ConsoleDayQuery,
    variables: { filter: dayFilter ?? {} },
    pause: !dayFilter,
    requestPolicy: 'cache-and-network',
  });
  useEffect(() => {
    if (day.data) upsert(day.data.appointments.edges.map((e) => e.node));
  }, [day.data]);

  // Search: by appointment id and by customer party id at once.
  const [searchText, setSearchText] = useState('');
  const [searched, setSearched] = useState<string | null>(null);
  const [search, refetchSearch] = useQuery({
    query: ConsoleSearchQuery,
    variables: { id: searched ?? '', partyId: searched ?? '' },
    pause: !searched,
    requestPolicy: 'network-only',
  });
  useEffect(() => {
    if (!search.data) return;
    const found: Known[] = search.data.appointments.edges.map((e) => e.node);
    if (search.data.appointment) found.push(search.data.appointment);
    upsert(found);
  }, [search.data]);
  const searchIds = useMemo(() => {
    if (!search.data) return [];
    const out = new Set<string>();
    if (search.data.appointment) out.add(search.data.appointment.id);
    for (const e of search.data.appointments.edges) out.add(e.node.id);
    return [...out];
  }, [search.data]);

  const dayList = useMemo(() => {
    if (!target) return [];
    const f = Date.parse(from);
    const tt = Date.parse(to);
    return [...known.values()]
      .filter((a) => !a.deleted && Date.parse(a.start) < tt && Date.parse(a.end) > f)
      .filter((a) =>
        target.kind === 'resource'
          ? a.resource?.id === target.id
          : a.place === target.id || (a.resource?.place != null && a.resource.place === target.id),
      )
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || (a.id < b.id ? -1 : 1));
  }, [known, target, from, to]);

  const searchList = useMemo(
    () =>
      searchIds
        .map((id) => known.get(id))
        .filter((a): a is Known => !!a && !a.deleted)
        .sort((a, b) => Date.parse(a.start) - Date.parse(b.start)),
    [searchIds, known],
  );

  // The day as a timeline: one column for a resource, one per resource of a store.
  const [view, setViewState] = useState<DayView>(initialView);
  const setView = (v: DayView) => {
    setViewState(v);
    try {
      localStorage.setItem(VIEW_KEY, v);
    } catch {
      /* storage unavailable */
    }
  };
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = (selectedId && dayList.find((a) => a.id === selectedId)) || null;
  const columns = useMemo((): TimelineColumn<Known>[] => {
    if (!target) return [];
    if (target.kind === 'resource') return [{ id: target.id, name: target.name, appts: dayList }];
    const cols = new Map<string, TimelineColumn<Known>>(
      target.resources.map((id) => [id, { id, name: resourceById.get(id)?.name ?? id, appts: [] }]),
    );
    for (const a of dayList) {
      const id = a.resource?.id ?? '';
      let c = cols.get(id);
      if (!c) {
        c = { id, name: id ? (resourceById.get(id)?.name ?? id) : t('con_noResource'), appts: [] };
        cols.set(id, c);
      }
      c.appts.push(a);
    }
    return [...cols.values()];
  }, [target, dayList, resourceById, t]);

  function select(id: string) {
    setSelectedId(id);
    // The details are beside the timeline on a wide screen, under it on a narrow one: go there.
    setTimeout(() => document.getElementById(`${ids}-selected`)?.focus(), 0);
  }
  function unselect() {
    const id = selectedId;
    setSelectedId(null);
    if (id) setTimeout(() => document.querySelector<HTMLElement>(`[data-testid="timeline-block"][data-id="${CSS.escape(id)}"]`)?.focus(), 0);
  }

  const showingSearch = searched !== null;
  const visible = showingSearch ? searchList : dayList;

  // Announce status changes and new bookings of the rows on screen.
  const [announcement, setAnnouncement] = useState('');
  const seen = useRef<{ key: string; statuses: Map<string, string> } | null>(null);
  const viewKey = showingSearch ? `search:${searched}` : `day:${targetId}:${date}`;
  const loaded = showingSearch ? !!search.data : !!day.data;
  useEffect(() => {
    const statuses = new Map(visible.map((a) => [a.id, a.status]));
    const prev = seen.current;
    seen.current = { key: viewKey, statuses };
    if (!loaded || !prev || prev.key !== viewKey) return;
    const notes: string[] = [];
    for (const a of visible) {
      const before = prev.statuses.get(a.id);
      const what = a.category?.name ?? '';
      const time = formatTime(a.start, tz, locale);
      if (before === undefined) notes.push(t('con_new', { time, what }));
      else if (before !== a.status) notes.push(t('con_changed', { time, what, status: t(`status_${a.status}` as MessageKey) }));
    }
    if (notes.length) setAnnouncement(notes.join(' · '));
  }, [visible, viewKey, loaded, tz, locale, t]);

  const searchProblem = useMemo(() => {
    const p = problemOf(search.error);
    // An id the hub does not know (or a party id tried as an id) is simply no result.
    if (!p || p.code === 'NOT_FOUND' || p.code === 'VALIDATION' || (search.data && p.code !== 'FORBIDDEN')) return null;
    return p;
  }, [search.error, search.data]);
  const pageProblem = actionProblem ?? searchProblem ?? problemOf(day.error) ?? problemOf(pickers.error);

  function onChanged(a: Appt) {
    setActionProblem(null);
    upsert([a]);
  }
  function onProblem(p: Problem) {
    setActionProblem(p);
    if (['VERSION_CONFLICT', 'STALE_VERSION', 'PRECONDITION_FAILED', 'INVALID_TRANSITION', 'CONFLICT'].includes(p.code)) {
      if (showingSearch) refetchSearch({ requestPolicy: 'network-only' });
      else refetchDay({ requestPolicy: 'network-only' });
    }
  }

  function submitSearch(e: React.FormEvent) {
    e.preventDefault();
    const q = searchText.trim();
    setActionProblem(null);
    if (!q) return;
    if (q === searched) refetchSearch({ requestPolicy: 'network-only' });
    setSearched(q);
  }

  const roles = session.roles.join(', ');
  const scope = [...session.resources, ...session.places].join(', ');
  const tzLabel = tz.replace(/_/g, ' ');

  return (
    <>
      <div className="panel console-who">
        <p>
          <strong data-testid="console-who">{t('con_signedInAs', { party: session.partyId || '—', roles })}</strong>
          {scoped && scope && <span className="muted"> · {t('con_serves', { scope })}</span>}
        </p>
        <button type="button" data-testid="console-sign-out" onClick={() => consoleSignOut(null, true)}>
          {t('con_signOut')}
        </button>
      </div>

      <div aria-live="assertive" className="console-error-slot">
        {pageProblem && (
          <div className="alert" role="alert" data-testid="console-error" data-code={pageProblem.code}>
            <p className="problem">{t(consoleMessageKey(pageProblem))}</p>
          </div>
        )}
      </div>
      <p className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="console-announce">
        {announcement}
      </p>

      <section className="panel" aria-labelledby={`${ids}-search`}>
        <h2 id={`${ids}-search`}>{t('con_search')}</h2>
        <form className="console-search" onSubmit={submitSearch} role="search">
          <div className="field">
            <label htmlFor={`${ids}-q`}>{t('con_searchLabel')}</label>
            <input
              id={`${ids}-q`}
              type="search"
              data-testid="console-search"
              value={searchText}
              onChange={(e) => setSearchText(e.target.value)}
              autoComplete="off"
              spellCheck={false}
            />
          </div>
          <button type="submit" className="primary" data-testid="console-search-go">
            {t('con_searchGo')}
          </button>
          {showingSearch && (
            <button
              type="button"
              data-testid="console-search-clear"
              onClick={() => {
                setSearched(null);
                setActionProblem(null);
              }}
            >
              {t('con_searchClear')}
            </button>
          )}
        </form>
      </section>

      {showingSearch ? (
        <section className="panel" aria-labelledby={`${ids}-results`} data-testid="console-search-results">
          <h2 id={`${ids}-results`}>{t('con_searchResults', { q: searched ?? '' })}</h2>
          {search.fetching && !search.data ? (
            <p aria-live="polite">{t('loading')}</p>
          ) : searchList.length === 0 ? (
            <p data-testid="console-search-empty">{t('con_searchNone', { q: searched ?? '' })}</p>
          ) : (
            <ol className="agenda">
              {searchList.map((a) => (
                <AppointmentRow
                  key={a.id}
                  appt={a}
                  timeZone={(a.resource && resourceById.get(a.resource.id)?.timeZone) ?? tz}
                  resourceName={a.resource ? resourceById.get(a.resource.id)?.name : undefined}
                  withDate
                  onChanged={onChanged}
                  onProblem={onProblem}
                />
              ))}
            </ol>
          )}
          {/* The hub runs at most 20 operations per websocket: follow the first few results live. */}
          {searchIds.slice(0, 12).map((id) => (
            <Feed key={id} vars={{ id }} onData={upsert} />
          ))}
        </section>
      ) : (
        <section className="panel" aria-labelledby={`${ids}-day`}>
          <h2 id={`${ids}-day`}>{t('con_day')}</h2>
          {pickers.fetching && !pickers.data ? (
            <p aria-live="polite">{t('loading')}</p>
          ) : !target ? (
            <p>{t('con_noScope')}</p>
          ) : null}
          <div className="console-controls">
            <div className="field">
              <label htmlFor={`${ids}-target`}>{t('con_resource')}</label>
              <select
                id={`${ids}-target`}
                data-testid="console-resource"
                value={targetId}
                onChange={(e) => setChosen(e.target.value)}
              >
                {resources.length > 0 && (
                  <optgroup label={t('con_resources')}>
                    {resources.map((r) => (
                      <option key={r.id} value={r.id}>
                        {r.name} ({r.id})
                      </option>
                    ))}
                  </optgroup>
                )}
                {places.length > 0 && (
                  <optgroup label={t('con_stores')}>
                    {places.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name}
                        {p.city ? `, ${p.city}` : ''} ({p.id})
                      </option>
                    ))}
                  </optgroup>
                )}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`${ids}-date`}>{t('con_date')}</label>
              <input
                id={`${ids}-date`}
                type="date"
                data-testid="console-date"
                value={date}
                onChange={(e) => {
                  if (/^\d{4}-\d{2}-\d{2}$/.test(e.target.value)) setPickedDate(e.target.value);
                }}
              />
            </div>
            <div className="actions day-nav">
              <button type="button" onClick={() => setPickedDate(addDaysToDate(date, -1))}>
                <span aria-hidden="true">‹ </span>
                {t('con_prevDay')}
              </button>
              <button type="button" onClick={() => setPickedDate(null)} disabled={date === today}>
                {t('con_today')}
              </button>
              <button type="button" onClick={() => setPickedDate(addDaysToDate(date, 1))}>
                {t('con_nextDay')}
                <span aria-hidden="true"> ›</span>
              </button>
            </div>
          </div>
          {target && (
            <>
              <div className="day-head">
                <h3>{t('con_dayOf', { date: formatLongDate(date, locale) })}</h3>
                <div className="view-toggle" role="group" aria-label={t('con_view')}>
                  <button
                    type="button"
                    aria-pressed={view === 'timeline'}
                    data-testid="console-view-timeline"
                    onClick={() => setView('timeline')}
                  >
                    {t('con_viewTimeline')}
                  </button>
                  <button type="button" aria-pressed={view === 'list'} data-testid="console-view-list" onClick={() => setView('list')}>
                    {t('con_viewList')}
                  </button>
                </div>
              </div>
              <p className="tz muted">
                {t('timesIn', { zone: tzLabel })} {t('liveNote')}
              </p>
              {day.fetching && !day.data ? (
                <p aria-live="polite">{t('loading')}</p>
              ) : dayList.length === 0 ? (
                <p data-testid="console-empty">{t('con_none')}</p>
              ) : view === 'timeline' ? (
                <>
                  <p className="muted">
                    {t('con_count', { n: String(dayList.length) })} · {t('con_pickBlock')}
                  </p>
                  <div className={`tl-layout${selected ? ' with-details' : ''}`}>
                    <Timeline
                      columns={columns}
                      date={date}
                      timeZone={tz}
                      label={t('con_timeline', { date: formatLongDate(date, locale) })}
                      selected={selected?.id ?? null}
                      onSelect={(id) => (id === selected?.id ? unselect() : select(id))}
                      detailsId={`${ids}-details`}
                    />
                    <section id={`${ids}-details`} className="tl-details" aria-labelledby={selected ? `${ids}-selected` : undefined}>
                      {selected && (
                        <>
                          <h4 id={`${ids}-selected`} tabIndex={-1} className="focus-target">
                            {t('con_selected')}
                          </h4>
                          <ol className="agenda">
                            <AppointmentRow
                              key={selected.id}
                              appt={selected}
                              timeZone={tz}
                              resourceName={selected.resource ? resourceById.get(selected.resource.id)?.name : undefined}
                              onChanged={onChanged}
                              onProblem={onProblem}
                            />
                          </ol>
                          <div className="actions">
                            <button type="button" data-testid="timeline-close" onClick={unselect}>
                              {t('con_closeSelected')}
                            </button>
                          </div>
                        </>
                      )}
                    </section>
                  </div>
                </>
              ) : (
                <>
                  <p className="muted">{t('con_count', { n: String(dayList.length) })}</p>
                  <ol className="agenda" data-testid="console-day">
                    {dayList.map((a) => (
                      <AppointmentRow
                        key={a.id}
                        appt={a}
                        timeZone={tz}
                        resourceName={a.resource ? resourceById.get(a.resource.id)?.name : undefined}
                        onChanged={onChanged}
                        onProblem={onProblem}
                      />
                    ))}
                  </ol>
                </>
              )}
              {day.data?.appointments.pageInfo.hasNextPage && <p className="muted">{t('con_more')}</p>}
              {target.resources.slice(0, 15).map((r) => (
                <Feed key={r} vars={{ resource: r }} onData={upsert} />
              ))}
            </>
          )}
        </section>
      )}
    </>
  );
}

type Change = ChangeData['appointmentChanged'];

/** Live changes of one appointment or of a resource's, passed on as they come. */
function Feed({ vars, onData }: { vars: { id?: string; resource?: string }; onData: (a: Known[]) => void }) {
  const [sub] = useSubscription<ChangeData, Map<string, Known>>(
    { query: ConsoleChangesSubscription, variables: vars },
    (prev: Map<string, Known> | undefined, data: ChangeData) => {
      const c: Change = data.appointmentChanged;
      const a: Known = c.kind === 'AppointmentDeleteEvent' ? { ...c.appointment, deleted: true } : c.appointment;
      return mergeAppointments(prev ?? new Map(), [a]);
    },
  );
  useEffect(() => {
    if (sub.data) onData([...sub.data.values()]);
  }, [sub.data, onData]);
  return null;
}

function AppointmentRow({
  appt,
  timeZone,
  resourceName,
  withDate,
  onChanged,
  onProblem,
}: {
  appt: Appt;
  timeZone: string;
  resourceName?: string;
  withDate?: boolean;
  onChanged: (a: Appt) => void;
  onProblem: (p: Problem) => void;
}) {
  const { t, locale } = useI18n();
  const ids = useId();
  const [failing, setFailing] = useState(false);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState(false);
  const [{ fetching: confirming }, confirm] = useMutation(ConfirmMutation);
  const [{ fetching: completing }, complete] = useMutation(CompleteMutation);
  const [{ fetching: failingNow }, fail] = useMutation(FailMutation);
  const busy = confirming || completing || failingNow;

  const canConfirm = ACTIONS_FROM.confirm.includes(appt.status);
  const canComplete = ACTIONS_FROM.complete.includes(appt.status);
  const canFail = ACTIONS_FROM.fail.includes(appt.status);

  useEffect(() => {
    if (!canFail) setFailing(false);
  }, [canFail]);

  type Payload = { appointment: Appt | null; error: { __typename: string; code: string } | null } | undefined;
  function settle(payload: Payload, error: Parameters<typeof problemOf>[0]): boolean {
    if (payload?.appointment) {
      onChanged(payload.appointment);
      return true;
    }
    if (payload?.error) onProblem(problemOfUserError(payload.error));
    else onProblem(problemOf(error) ?? { code: 'UNKNOWN', key: 'err_UNKNOWN' });
    return false;
  }

  async function onConfirm() {
    const res = await confirm({ input: { id: appt.id, expectedVersion: appt.version } });
    settle(res.data?.confirmAppointment, res.error);
  }
  async function onComplete() {
    const res = await complete({ input: { id: appt.id, expectedVersion: appt.version } });
    settle(res.data?.completeAppointment, res.error);
  }
  async function onFail(e: React.FormEvent) {
    e.preventDefault();
    const r = reason.trim();
    if (!r) {
      setReasonError(true);
      document.getElementById(`${ids}-reason`)?.focus();
      return;
    }
    setReasonError(false);
    const res = await fail({ input: { id: appt.id, expectedVersion: appt.version, reason: r } });
    if (settle(res.data?.failAppointment, res.error)) {
      setFailing(false);
      setReason('');
    }
  }

  const statusKey = `status_${appt.status}` as MessageKey;
  const statusLabel = t(statusKey) === statusKey ? appt.status : t(statusKey);
  const dateText = withDate ? `${formatLongDate(localDate(appt.start, timeZone), locale)}, ` : '';
  const contact = appt.contactMedia.map((c) => c.value).join(', ');

  return (
    <li
      className={`appt appt-${appt.status.toLowerCase()}`}
      data-testid="console-appointment"
      data-id={appt.id}
      data-status={appt.status}
    >
      <div className="appt-head" id={`${ids}-title`}>
        <span className="appt-time">
          {dateText}
          <time dateTime={appt.start}>{formatTime(appt.start, timeZone, locale)}</time>
          {' – '}
          <time dateTime={appt.end}>{formatTime(appt.end, timeZone, locale)}</time>
        </span>{' '}
        <span className="appt-what">{appt.category?.name ?? '—'}</span>
      </div>
      <p className={`badge status-${appt.status.toLowerCase()}`} data-testid="console-status">
        {statusLabel}
        {appt.statusReason && <span className="muted"> — {appt.statusReason}</span>}
      </p>
      <dl className="appt-facts">
        <div>
          <dt>{t('con_customer')}</dt>
          <dd>{appt.partyId ?? '—'}</dd>
        </div>
        {appt.resource && (
          <div>
            <dt>{t('con_resourceName')}</dt>
            <dd>{resourceName ?? appt.resource.id}</dd>
          </div>
        )}
        {contact && (
          <div>
            <dt>{t('con_contact')}</dt>
            <dd>{contact}</dd>
          </div>
        )}
        <div>
          <dt>{t('con_id')}</dt>
          <dd className="appt-id">{appt.id}</dd>
        </div>
      </dl>
      {(canConfirm || canComplete || canFail) && !failing && (
        <div className="actions">
          {canConfirm && (
            <button type="button" className="primary" data-testid="confirm" disabled={busy} onClick={() => void onConfirm()} aria-describedby={`${ids}-title`}>
              {t('con_confirm')}
            </button>
          )}
          {canComplete && (
            <button type="button" className="primary" data-testid="complete" disabled={busy} onClick={() => void onComplete()} aria-describedby={`${ids}-title`}>
              {t('con_complete')}
            </button>
          )}
          {canFail && (
            <button
              type="button"
              className="danger"
              data-testid="fail"
              disabled={busy}
              aria-describedby={`${ids}-title`}
              onClick={() => {
                setFailing(true);
                setReasonError(false);
                // Focus moves to the reason once it is shown.
                setTimeout(() => document.getElementById(`${ids}-reason`)?.focus(), 0);
              }}
            >
              {t('con_fail')}
            </button>
          )}
        </div>
      )}
      {canFail && failing && (
        <form className="fail-form" onSubmit={onFail} noValidate>
          <div className="field">
            <label htmlFor={`${ids}-reason`}>{t('con_failReason')}</label>
            <input
              id={`${ids}-reason`}
              data-testid="fail-reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              maxLength={500}
              required
              aria-invalid={reasonError ? true : undefined}
              aria-describedby={reasonError ? `${ids}-reason-error` : undefined}
            />
            {reasonError && (
              <span className="field-error" id={`${ids}-reason-error`}>
                {t('con_failReasonRequired')}
              </span>
            )}
          </div>
          <div className="actions">
            <button type="submit" className="danger" data-testid="fail-confirm" disabled={busy} aria-describedby={`${ids}-title`}>
              {t('con_failConfirm')}
            </button>
            <button type="button" onClick={() => setFailing(false)}>
              {t('con_failBack')}
            </button>
          </div>
        </form>
      )}
    </li>
  );
}
