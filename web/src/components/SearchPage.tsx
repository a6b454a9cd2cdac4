import { useEffect, useId, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { HoldSlotMutation, PickersQuery } from '../operations';
import { useI18n, type MessageKey } from '../i18n';
import { problemOf, problemOfUserError, type Problem } from '../errors';
import { auth } from '../auth';
import { useStore } from '../store';
import { navigate } from '../router';
import { SlotGrid, type Slot } from './SlotGrid';
import { HoldPanel, type HeldSlot } from './HoldPanel';
import { Alternatives, ProblemText, randomKey, timeZoneOf } from './common';
import { WaitlistPanel } from './WaitlistPanel';
import { SignInButton } from './SignIn';
import { searchFormOf, searchPath } from '../signInState';

interface Search {
  category: string;
  place: string;
  n: number;
}

export function SearchPage() {
  const { t } = useI18n();
  const ids = useId();
  const { session } = useStore(auth);
  const [pickers] = useQuery({ query: PickersQuery });
  const categories = pickers.data?.categories ?? [];
  const places = pickers.data?.places ?? [];

  // The search as the page's query keeps it: it survives a round trip to the identity provider
  // (the sign-in comes back to this path) and a reload.
  const [initial] = useState(() => searchFormOf(location.search));
  const [category, setCategory] = useState(initial?.category ?? '');
  const [postcode, setPostcode] = useState(initial?.postcode ?? '');
  const [placeId, setPlaceId] = useState(initial?.store ?? '');
  const [formErrors, setFormErrors] = useState<{ category?: MessageKey; place?: MessageKey }>({});
  const [search, setSearch] = useState<Search | null>(null);

  const [hold, setHold] = useState<HeldSlot | null>(null);
  const [holdProblem, setHoldProblem] = useState<Problem | null>(null);
  const [alternatives, setAlternatives] = useState<Slot[]>([]);
  const [pending, setPending] = useState<{ slot: Slot; tz: string } | null>(null);
  const [chosenTz, setChosenTz] = useState<string | null>(null);
  const [{ fetching: holding }, holdSlot] = useMutation(HoldSlotMutation);

  const cat = categories.find((c) => c.id === category);
  const atPlace = cat?.atPlace ?? false;
  const searchedCat = categories.find((c) => c.id === search?.category);

  useEffect(() => {
    // Until the categories are in, whether the place is a store or a postcode is not known.
    if (!pickers.data) return;
    const path = searchPath(atPlace ? { category, store: placeId } : { category, postcode });
    if (location.pathname === '/' && `${location.pathname}${location.search}` !== path) history.replaceState(history.state, '', path);
  }, [category, postcode, placeId, atPlace, pickers.data]);

  // Back from signing in (or reloaded) with a search in the query: run it once the pickers are in.
  const resumed = useRef(false);
  useEffect(() => {
    if (resumed.current || !initial || !pickers.data) return;
    resumed.current = true;
    const errs = check();
    if (!errs.category && !errs.place) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pickers.data]);

  function check() {
    const errs: typeof formErrors = {};
    if (!category) errs.category = 'required';
    else if (pickers.data && !categories.some((c) => c.id === category)) errs.category = 'required';
    const place = atPlace ? placeId : postcode.trim();
    if (!place) errs.place = 'required';
    else if (!atPlace && pickers.data && pickers.data.zones.length > 0 && !pickers.data.zones.some((z) => z.postCodes.includes(place)))
      errs.place = 'postcodeUnknown';
    return errs;
  }

  function submit(e: React.FormEvent) {
    e.preventDefault();
    const errs = check();
    setFormErrors(errs);
    if (errs.category) return document.getElementById(`${ids}-category`)?.focus();
    if (errs.place) return document.getElementById(`${ids}-place`)?.focus();
    run();
  }

  function run() {
    const place = atPlace ? placeId : postcode.trim();
    setHold(null);
    setHoldProblem(null);
    setAlternatives([]);
    setPending(null);
    setSearch({ category, place, n: (search?.n ?? 0) + 1 });
  }

  async function choose(slot: Slot, tz: string) {
    if (!search) return;
    setChosenTz(tz);
    setHoldProblem(null);
    setAlternatives([]);
    if (!auth.get().session) {
      setPending({ slot, tz });
      return;
    }
    setPending(null);
    const res = await holdSlot({
      input: {
        category: search.category,
        place: search.place,
        start: slot.start,
        // A recommended slot is held with the resource it is recommended with.
        resource: slot.resource,
        // Arrival windows are held with their end; fixed starts by their start alone.
        end: searchedCat && searchedCat.stepMinutes == null ? slot.end : undefined,
      },
    });
    const p = res.data?.holdSlot;
    if (p?.hold) {
      setHold({
        ...p.hold,
        timeZone: tz,
        categoryName: searchedCat?.name ?? search.category,
        idempotencyKey: randomKey(),
      });
      return;
    }
    if (p?.error) {
      setHoldProblem(problemOfUserError(p.error));
      if (p.error.__typename === 'SlotUnavailable') setAlternatives(p.error.alternatives);
      return;
    }
    const problem = problemOf(res.error);
    if (problem?.code === 'UNAUTHENTICATED') setPending({ slot, tz });
    else setHoldProblem(problem);
  }

  // Signed in while a slot waited: hold it now.
  useEffect(() => {
    if (session && pending) void choose(pending.slot, pending.tz);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);

  // A refusal's alternatives are times of the place chosen, shown in its zone.
  const tz = hold?.timeZone ?? pending?.tz ?? chosenTz ?? 'UTC';

  return (
    <main id="main" className="page">
      <h1>{t('searchTitle')}</h1>
      <form className="search-form panel" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${ids}-category`}>{t('category')}</label>
          <select
            id={`${ids}-category`}
            data-testid="category"
            value={category}
            onChange={(e) => setCategory(e.target.value)}
            aria-invalid={formErrors.category ? true : undefined}
            aria-describedby={formErrors.category ? `${ids}-category-err` : undefined}
          >
            <option value="">{t('chooseCategory')}</option>
            {categories.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          {formErrors.category && (
            <span className="field-error" id={`${ids}-category-err`}>
              {t(formErrors.category)}
            </span>
          )}
        </div>
        <div className="field">
          {atPlace ? (
            <>
              <label htmlFor={`${ids}-place`}>{t('store')}</label>
              <select
                id={`${ids}-place`}
                data-testid="store"
                value={placeId}
                onChange={(e) => setPlaceId(e.target.value)}
                aria-invalid={formErrors.place ? true : undefined}
                aria-describedby={formErrors.place ? `${ids}-place-err` : undefined}
              >
                <option value="">{t('chooseStore')}</option>
                {places.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                    {p.city ? ` — ${p.city}` : ''}
                  </option>
                ))}
              </select>
            </>
          ) : (
            <>
              <label htmlFor={`${ids}-place`}>{t('postcode')}</label>
              <input
                id={`${ids}-place`}
                data-testid="postcode"
                value={postcode}
                onChange={(e) => setPostcode(e.target.value)}
                inputMode="numeric"
                autoComplete="postal-code"
                placeholder="75011"
                aria-invalid={formErrors.place ? true : undefined}
                aria-describedby={formErrors.place ? `${ids}-place-err` : `${ids}-place-hint`}
              />
              <span className="hint" id={`${ids}-place-hint`}>
                {t('postcodeHint')}
              </span>
            </>
          )}
          {formErrors.place && (
            <span className="field-error" id={`${ids}-place-err`}>
              {t(formErrors.place)}
            </span>
          )}
        </div>
        <button type="submit" className="primary" data-testid="search">
          {t('search')}
        </button>
        {pickers.error && !pickers.data && <ProblemText problem={problemOf(pickers.error)!} />}
      </form>

      {search && !hold && (
        <SlotGrid key={`${search.n}`} category={search.category} place={search.place} onChoose={choose} busy={holding} />
      )}
      {search && !hold && (
        <WaitlistPanel key={`${search.category}|${search.place}`} search={search} timeZone={timeZoneOf(search.place, pickers.data) ?? 'UTC'} />
      )}
      {holding && <p aria-live="polite">{t('holding')}</p>}
      {!hold && pending && !session && (
        <Alternatives timeZone={tz}>
          <p>{t('signInToHold')}</p>
          <SignInButton />
        </Alternatives>
      )}
      {!hold && <Alternatives problem={holdProblem} alternatives={alternatives} timeZone={tz} onChoose={(s) => void choose(s as Slot, tz)} busy={holding} />}
      {hold && (
        <HoldPanel
          key={hold.token}
          hold={hold}
          holding={holding}
          onBooked={(id) => navigate(`/appointment/${encodeURIComponent(id)}`, { justBooked: true })}
          onPickAgain={() => setHold(null)}
          onChooseAlternative={(s) => {
            const h = hold;
            setHold(null);
            void choose(s, h.timeZone);
          }}
        />
      )}
    </main>
  );
}
