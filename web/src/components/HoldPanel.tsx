import { useEffect, useId, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { BookAppointmentMutation } from '../operations';
import { useI18n, type MessageKey } from '../i18n';
import { problemOf, problemOfUserError, type Problem } from '../errors';
import { formatCountdown, remainingMs } from '../countdown';
import { formatDateTime } from '../time';
import { Alternatives, SlotRange, useNow } from './common';
import type { Slot } from './SlotGrid';

export interface HeldSlot {
  token: string;
  expiresAt: string;
  appointmentId: string;
  start: string;
  end: string;
  timeZone: string;
  categoryName: string;
  idempotencyKey: string;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[0-9][0-9 ().-]{5,19}$/;

type Field = 'name' | 'email' | 'phone';

export function validateContact(v: { name: string; email: string; phone: string }): Partial<Record<Field, MessageKey>> {
  const errs: Partial<Record<Field, MessageKey>> = {};
  if (!v.name.trim()) errs.name = 'required';
  const email = v.email.trim();
  const phone = v.phone.trim();
  if (!email && !phone) errs.email = 'contactRequired';
  if (email && !EMAIL_RE.test(email)) errs.email = 'emailInvalid';
  if (phone && !PHONE_RE.test(phone)) errs.phone = 'phoneInvalid';
  return errs;
}

/** The held slot: countdown to its expiry, contact form and Book. */
export function HoldPanel({
  hold,
  onBooked,
  onPickAgain,
  onChooseAlternative,
  holding,
}: {
  hold: HeldSlot;
  onBooked: (appointmentId: string) => void;
  onPickAgain: () => void;
  onChooseAlternative: (slot: Slot) => void;
  holding: boolean;
}) {
  const { t, locale } = useI18n();
  const ids = useId();
  const [values, setValues] = useState({ name: '', email: '', phone: '' });
  const [touched, setTouched] = useState(false);
  const [bookProblem, setBookProblem] = useState<Problem | null>(null);
  const [alternatives, setAlternatives] = useState<Slot[]>([]);
  const [expiredByServer, setExpiredByServer] = useState(false);
  const [{ fetching }, book] = useMutation(BookAppointmentMutation);
  const heading = useRef<HTMLHeadingElement>(null);

  const left = remainingMs(hold.expiresAt, useNow(1000, !expiredByServer));
  const expired = expiredByServer || left <= 0;
  const errors = touched ? validateContact(values) : {};

  useEffect(() => {
    heading.current?.focus();
  }, [hold.token]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setTouched(true);
    const errs = validateContact(values);
    if (Object.keys(errs).length > 0 || expired) {
      const first = (['name', 'email', 'phone'] as Field[]).find((f) => errs[f]);
      if (first) document.getElementById(`${ids}-${first}`)?.focus();
      return;
    }
    setBookProblem(null);
    setAlternatives([]);
    const contactMedia = [];
    if (values.email.trim()) contactMedia.push({ type: 'email', value: values.email.trim(), preferred: true });
    if (values.phone.trim()) contactMedia.push({ type: 'phone', value: values.phone.trim(), preferred: !values.email.trim() });
    const res = await book({
      input: {
        holdToken: hold.token,
        description: values.name.trim(),
        contactMedia,
        idempotencyKey: hold.idempotencyKey,
      },
    });
    const p = res.data?.bookAppointment;
    if (p?.appointment) {
      onBooked(p.appointment.id);
      return;
    }
    if (p?.error) {
      const err = p.error;
      if (err.__typename === 'HoldExpired' || err.code === 'HOLD_EXPIRED') {
        setExpiredByServer(true);
        return;
      }
      setBookProblem(problemOfUserError({ ...err, field: err.__typename === 'ValidationError' ? err.field : undefined }));
      if (err.__typename === 'SlotUnavailable') setAlternatives(err.alternatives);
      return;
    }
    setBookProblem(problemOf(res.error));
  }

  const fieldProps = (f: Field) => ({
    id: `${ids}-${f}`,
    value: values[f],
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [f]: e.target.value }),
    'aria-invalid': errors[f] ? true : undefined,
    'aria-describedby': errors[f] ? `${ids}-${f}-err` : f === 'email' || f === 'phone' ? `${ids}-hint` : undefined,
  });
  const fieldError = (f: Field) =>
    errors[f] && (
      <span className="field-error" id={`${ids}-${f}-err`}>
        {t(errors[f]!)}
      </span>
    );
  const serverField = bookProblem?.field?.toLowerCase() ?? '';

  return (
    <section className="panel hold" data-testid="hold" aria-labelledby={`${ids}-title`}>
      <h2 id={`${ids}-title`} ref={heading} tabIndex={-1}>
        {t('holdTitle')}
      </h2>
      <p className="held-slot">
        <strong>{hold.categoryName}</strong> — {formatDateTime(hold.start, hold.timeZone, locale)} (
        <SlotRange slot={hold} timeZone={hold.timeZone} />)
      </p>
      {!expired ? (
        <p className="countdown-line">
          {t('holdKept')}{' '}
          <span className="countdown" data-testid="countdown" role="timer" aria-live="off">
            {formatCountdown(left)}
          </span>
        </p>
      ) : (
        <div className="alert" role="alert" data-testid="alternatives">
          <p className="problem">{t('holdExpired')}</p>
          <button type="button" onClick={onPickAgain}>
            {t('pickAgain')}
          </button>
        </div>
      )}
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${ids}-name`}>{t('name')}</label>
          <input {...fieldProps('name')} autoComplete="name" required data-testid="name" />
          {fieldError('name')}
        </div>
        <p className="hint" id={`${ids}-hint`}>
          {t('contactHint')}
        </p>
        <div className="field">
          <label htmlFor={`${ids}-email`}>{t('email')}</label>
          <input {...fieldProps('email')} type="email" autoComplete="email" inputMode="email" data-testid="email" />
          {fieldError('email')}
          {!errors.email && bookProblem && serverField.includes('contact') && (
            <span className="field-error">{t(bookProblem.key)}</span>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-phone`}>{t('phone')}</label>
          <input {...fieldProps('phone')} type="tel" autoComplete="tel" inputMode="tel" />
          {fieldError('phone')}
        </div>
        <div className="actions">
          <button type="submit" className="primary" data-testid="book" disabled={fetching || expired || holding}>
            {fetching ? t('booking') : t('book')}
          </button>
          <button type="button" onClick={onPickAgain}>
            {t('pickAgain')}
          </button>
        </div>
      </form>
      <Alternatives
        problem={bookProblem}
        alternatives={alternatives}
        timeZone={hold.timeZone}
        onChoose={(s) => onChooseAlternative(s as Slot)}
        busy={holding}
      />
    </section>
  );
}
