import { createContext, useContext } from 'react';

export type Lang = 'en' | 'fr';
export const LANGS: readonly Lang[] = ['en', 'fr'];
export const LANG_NAMES: Record<Lang, string> = { en: 'English', fr: 'Français' };

const en = {
  appName: 'Appointments',
  language: 'Language',
  signIn: 'Sign in (demo)',
  signOut: 'Sign out',
  signedInAs: 'Signed in as {party}',
  signInUnavailable: 'Demo sign-in is not available on this service.',
  signInFailed: 'Signing in did not work. Please try again.',
  sessionExpired: 'Your session has ended. Please sign in again.',
  offline: 'Cannot reach the service, retrying…',
  loading: 'Loading…',
  // search
  searchTitle: 'Book an appointment',
  category: 'What do you need?',
  chooseCategory: 'Choose…',
  postcode: 'Postcode',
  postcodeHint: 'Where should we come?',
  store: 'Store',
  chooseStore: 'Choose a store…',
  search: 'See free times',
  required: 'Please fill this in.',
  postcodeUnknown: 'We do not serve this postcode.',
  timesIn: 'Times are shown in {zone}.',
  days: 'Days',
  slotsOf: 'Free times on {date}',
  noSlotsDay: 'No free time on this day.',
  noSlotsWindow: 'No free time in these two weeks.',
  nextDates: 'Next days with free times:',
  current: 'current',
  liveNote: 'This list updates by itself.',
  signInToHold: 'Please sign in to reserve this time.',
  // hold
  holdTitle: 'Your reserved time',
  holdKept: 'We keep this time for you for',
  holdExpired: 'Your reservation has run out. Please pick a time again.',
  pickAgain: 'Pick another time',
  name: 'Your name',
  email: 'Email',
  phone: 'Phone',
  contactHint: 'Give an email, a phone number or both.',
  contactRequired: 'Give an email or a phone number.',
  emailInvalid: 'This email does not look right (e.g. name@example.com).',
  phoneInvalid: 'This phone number does not look right (e.g. +33 1 23 45 67 89).',
  book: 'Book',
  booking: 'Booking…',
  holding: 'Reserving…',
  alternatives: 'Other free times nearby:',
  // appointment
  appointmentTitle: 'Your appointment',
  appointmentNotFound: 'We cannot find this appointment.',
  signInToSee: 'Please sign in to see your appointment.',
  when: 'When',
  what: 'What',
  status: 'Status',
  statusNow: 'Status: {status}',
  rescheduledNote: 'Your appointment was moved.',
  reschedule: 'Change the time',
  rescheduleTitle: 'Choose a new time',
  closeReschedule: 'Keep the current time',
  rescheduled: 'Done: your appointment is now {when}.',
  cancel: 'Cancel the appointment',
  cancelReason: 'Why are you cancelling? (optional)',
  cancelConfirm: 'Yes, cancel it',
  cancelKeep: 'No, keep it',
  cancelled: 'Your appointment is cancelled.',
  newSearch: 'Book another appointment',
  booked: 'Thank you! Your appointment is booked.',
  // statuses
  status_INITIALIZED: 'Booked, awaiting confirmation',
  status_CONFIRMED: 'Confirmed',
  status_CANCELLED: 'Cancelled',
  status_COMPLETED: 'Completed',
  status_FAILED: 'Could not take place',
  status_RESCHEDULED: 'Rescheduled',
  // console
  consoleTitle: 'Agent console',
  consoleSignIn: 'Sign in with an agent account',
  consoleLater: 'The agent console is coming soon.',
  backHome: 'Back to booking',
  // errors
  err_UNAUTHENTICATED: 'Please sign in again to continue.',
  err_FORBIDDEN: 'You are not allowed to do this.',
  err_RATE_LIMITED: 'Too many attempts. Please wait a moment and try again.',
  err_VALIDATION: 'Some details are not right. Please check them.',
  err_NOT_FOUND: 'We cannot find what you asked for.',
  err_UNAVAILABLE: 'The service is busy right now. Please try again in a moment.',
  err_INTERNAL: 'Something went wrong on our side. Please try again.',
  err_NETWORK: 'Cannot reach the service. Please check your connection.',
  err_SLOT_TAKEN: 'Sorry, someone else just took this time.',
  err_FULLY_BOOKED: 'Sorry, this time is fully booked.',
  err_HOLIDAY: 'We are closed on that day (holiday).',
  err_OUTSIDE_HOURS: 'We are not working at that time.',
  err_INSIDE_MINIMUM_NOTICE: 'This time is too soon to book.',
  err_OUTSIDE_HORIZON: 'This time is too far ahead to book yet.',
  err_NOT_A_SLOT_START: 'Appointments cannot start at that time.',
  err_NO_SKILLED_RESOURCE_IN_ZONE: 'We do not offer this service in your area.',
  err_HOLD_EXPIRED: 'Your reservation has run out. Please pick a time again.',
  err_VERSION_CONFLICT: 'Your appointment changed in the meantime. We reloaded it; please try again.',
  err_INVALID_TRANSITION: 'This appointment can no longer be changed.',
  err_APPOINTMENT_NOT_ACTIVE: 'This appointment can no longer be changed.',
  err_IDEMPOTENCY_KEY_REUSED: 'This request was already sent with other details. Please try again.',
  err_REQUEST_IN_PROGRESS: 'We are still working on your previous request. Please wait a moment.',
  err_COMMIT_TOO_LATE: 'Booking took too long and was not completed. Please try again.',
  err_UNKNOWN: 'Something went wrong. Please try again.',
};

export type Dict = typeof en;
export type MessageKey = keyof Dict;

const fr: Dict = {
  appName: 'Rendez-vous',
  language: 'Langue',
  signIn: 'Se connecter (démo)',
  signOut: 'Se déconnecter',
  signedInAs: 'Connecté : {party}',
  signInUnavailable: "La connexion de démonstration n'est pas disponible sur ce service.",
  signInFailed: "La connexion n'a pas fonctionné. Veuillez réessayer.",
  sessionExpired: 'Votre session est terminée. Veuillez vous reconnecter.',
  offline: 'Service injoignable, nouvelle tentative…',
  loading: 'Chargement…',
  searchTitle: 'Prendre rendez-vous',
  category: 'De quoi avez-vous besoin ?',
  chooseCategory: 'Choisir…',
  postcode: 'Code postal',
  postcodeHint: 'Où devons-nous venir ?',
  store: 'Magasin',
  chooseStore: 'Choisir un magasin…',
  search: 'Voir les créneaux libres',
  required: 'Veuillez remplir ce champ.',
  postcodeUnknown: 'Nous ne desservons pas ce code postal.',
  timesIn: 'Heures affichées dans le fuseau {zone}.',
  days: 'Jours',
  slotsOf: 'Créneaux libres le {date}',
  noSlotsDay: 'Aucun créneau libre ce jour-là.',
  noSlotsWindow: 'Aucun créneau libre sur ces deux semaines.',
  nextDates: 'Prochains jours avec des créneaux :',
  current: 'actuel',
  liveNote: 'Cette liste se met à jour toute seule.',
  signInToHold: 'Veuillez vous connecter pour réserver ce créneau.',
  holdTitle: 'Votre créneau réservé',
  holdKept: 'Nous gardons ce créneau pour vous pendant',
  holdExpired: 'Votre réservation a expiré. Veuillez choisir un créneau à nouveau.',
  pickAgain: 'Choisir un autre créneau',
  name: 'Votre nom',
  email: 'E-mail',
  phone: 'Téléphone',
  contactHint: 'Indiquez un e-mail, un numéro de téléphone ou les deux.',
  contactRequired: 'Indiquez un e-mail ou un numéro de téléphone.',
  emailInvalid: 'Cet e-mail ne semble pas correct (ex. nom@exemple.fr).',
  phoneInvalid: 'Ce numéro ne semble pas correct (ex. +33 1 23 45 67 89).',
  book: 'Réserver',
  booking: 'Réservation…',
  holding: 'Réservation du créneau…',
  alternatives: 'Autres créneaux libres proches :',
  appointmentTitle: 'Votre rendez-vous',
  appointmentNotFound: 'Nous ne trouvons pas ce rendez-vous.',
  signInToSee: 'Veuillez vous connecter pour voir votre rendez-vous.',
  when: 'Quand',
  what: 'Quoi',
  status: 'Statut',
  statusNow: 'Statut : {status}',
  rescheduledNote: 'Votre rendez-vous a été déplacé.',
  reschedule: "Changer l'horaire",
  rescheduleTitle: 'Choisissez un nouvel horaire',
  closeReschedule: "Garder l'horaire actuel",
  rescheduled: 'C’est fait : votre rendez-vous est maintenant le {when}.',
  cancel: 'Annuler le rendez-vous',
  cancelReason: "Pourquoi annulez-vous ? (facultatif)",
  cancelConfirm: "Oui, l'annuler",
  cancelKeep: 'Non, le garder',
  cancelled: 'Votre rendez-vous est annulé.',
  newSearch: 'Prendre un autre rendez-vous',
  booked: 'Merci ! Votre rendez-vous est réservé.',
  status_INITIALIZED: 'Réservé, en attente de confirmation',
  status_CONFIRMED: 'Confirmé',
  status_CANCELLED: 'Annulé',
  status_COMPLETED: 'Terminé',
  status_FAILED: "N'a pas pu avoir lieu",
  status_RESCHEDULED: 'Déplacé',
  consoleTitle: 'Console agent',
  consoleSignIn: 'Connectez-vous avec un compte agent',
  consoleLater: 'La console agent arrive bientôt.',
  backHome: 'Retour à la réservation',
  err_UNAUTHENTICATED: 'Veuillez vous reconnecter pour continuer.',
  err_FORBIDDEN: "Vous n'avez pas le droit de faire cela.",
  err_RATE_LIMITED: 'Trop de tentatives. Patientez un instant puis réessayez.',
  err_VALIDATION: 'Certaines informations ne sont pas correctes. Veuillez les vérifier.',
  err_NOT_FOUND: 'Nous ne trouvons pas ce que vous avez demandé.',
  err_UNAVAILABLE: 'Le service est occupé. Réessayez dans un instant.',
  err_INTERNAL: 'Un problème est survenu de notre côté. Veuillez réessayer.',
  err_NETWORK: 'Service injoignable. Vérifiez votre connexion.',
  err_SLOT_TAKEN: "Désolé, quelqu'un vient de prendre ce créneau.",
  err_FULLY_BOOKED: 'Désolé, ce créneau est complet.',
  err_HOLIDAY: 'Nous sommes fermés ce jour-là (jour férié).',
  err_OUTSIDE_HOURS: 'Nous ne travaillons pas à cette heure-là.',
  err_INSIDE_MINIMUM_NOTICE: 'Ce créneau est trop proche pour être réservé.',
  err_OUTSIDE_HORIZON: 'Ce créneau est trop lointain pour être déjà réservé.',
  err_NOT_A_SLOT_START: 'Un rendez-vous ne peut pas commencer à cette heure-là.',
  err_NO_SKILLED_RESOURCE_IN_ZONE: "Nous ne proposons pas ce service dans votre secteur.",
  err_HOLD_EXPIRED: 'Votre réservation a expiré. Veuillez choisir un créneau à nouveau.',
  err_VERSION_CONFLICT: 'Votre rendez-vous a changé entre-temps. Nous l’avons rechargé ; veuillez réessayer.',
  err_INVALID_TRANSITION: 'Ce rendez-vous ne peut plus être modifié.',
  err_APPOINTMENT_NOT_ACTIVE: 'Ce rendez-vous ne peut plus être modifié.',
  err_IDEMPOTENCY_KEY_REUSED: 'Cette demande a déjà été envoyée avec d’autres informations. Veuillez réessayer.',
  err_REQUEST_IN_PROGRESS: 'Votre demande précédente est encore en cours. Patientez un instant.',
  err_COMMIT_TOO_LATE: "La réservation a pris trop de temps et n'a pas abouti. Veuillez réessayer.",
  err_UNKNOWN: 'Un problème est survenu. Veuillez réessayer.',
};

export const DICTS: Record<Lang, Dict> = { en, fr };

/** Locale for Intl formatting. */
export const LOCALES: Record<Lang, string> = { en: 'en-GB', fr: 'fr-FR' };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

export function translator(lang: Lang): Translate {
  const dict = DICTS[lang];
  return (key, vars) => {
    let s = dict[key] ?? DICTS.en[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(v);
    return s;
  };
}

export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem('apphub.lang');
    if (saved === 'en' || saved === 'fr') return saved;
  } catch {
    /* storage unavailable */
  }
  return typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

export interface I18n {
  lang: Lang;
  locale: string;
  t: Translate;
  setLang: (l: Lang) => void;
}

export const I18nContext = createContext<I18n>({
  lang: 'en',
  locale: LOCALES.en,
  t: translator('en'),
  setLang: () => {},
});

export const useI18n = () => useContext(I18nContext);
