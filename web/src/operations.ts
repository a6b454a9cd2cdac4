import { graphql } from './gql';

export const PickersQuery = graphql(`
  query Pickers {
    categories { id name durationMinutes stepMinutes atPlace }
    zones { id name timeZone postCodes }
    places { id name timeZone postCode city }
  }
`);

export const AvailabilityQuery = graphql(`
  query Availability($input: AvailabilityInput!) {
    availability(input: $input) {
      timeZone
      days { date slots { start end capacity } }
      reasons { code message }
      nextDates
      version
      recommended(first: 3) { start end capacity resource { id } reasons { code message } }
    }
  }
`);

export const AvailabilitySubscription = graphql(`
  subscription AvailabilityChanged($input: AvailabilityInput!) {
    availabilityChanged(input: $input) {
      timeZone
      days { date slots { start end capacity } }
      reasons { code message }
      nextDates
      version
      recommended(first: 3) { start end capacity resource { id } reasons { code message } }
    }
  }
`);

export const HoldSlotMutation = graphql(`
  mutation HoldSlot($input: HoldSlotInput!) {
    holdSlot(input: $input) {
      hold { token expiresAt appointmentId start end }
      error {
        __typename code message
        ... on SlotUnavailable { alternatives { start end capacity } }
      }
    }
  }
`);

export const BookAppointmentMutation = graphql(`
  mutation BookAppointment($input: BookAppointmentInput!) {
    bookAppointment(input: $input) {
      appointment { id status start end version }
      error {
        __typename code message
        ... on SlotUnavailable { alternatives { start end capacity } }
        ... on ValidationError { field }
      }
    }
  }
`);

export const AppointmentQuery = graphql(`
  query Appointment($id: ID!) {
    appointment(id: $id) {
      id version status statusReason start end place
      category { id name stepMinutes atPlace }
      resource { id }
      crew { id name }
    }
  }
`);

// Asked when the customer chooses "Add to calendar" (network-only): the link lasts 15 minutes.
export const CalendarFileQuery = graphql(`
  query CalendarFile($id: ID!) {
    appointment(id: $id) {
      id
      calendarFile { url }
    }
  }
`);

export const AppointmentChangedSubscription = graphql(`
  subscription AppointmentChanged($id: ID!) {
    appointmentChanged(id: $id) {
      kind version fields
      appointment { id version status statusReason start end crew { id name } }
    }
  }
`);

export const RescheduleMutation = graphql(`
  mutation Reschedule($input: RescheduleAppointmentInput!) {
    rescheduleAppointment(input: $input) {
      appointment { id version status statusReason start end crew { id name } }
      error {
        __typename code message
        ... on SlotUnavailable { alternatives { start end capacity } }
        ... on VersionConflict { currentVersion }
      }
    }
  }
`);

export const CancelMutation = graphql(`
  mutation Cancel($input: ChangeStatusInput!) {
    cancelAppointment(input: $input) {
      appointment { id version status statusReason start end crew { id name } }
      error {
        __typename code message
        ... on VersionConflict { currentVersion }
      }
    }
  }
`);

// The waitlist (search page): join for what was searched, see one's entries, answer an offer.
export const WaitlistEntriesQuery = graphql(`
  query WaitlistEntries {
    waitlistEntries {
      id place status from to createdAt
      category { id name }
      offer { id start end expiresAt }
    }
  }
`);

export const JoinWaitlistMutation = graphql(`
  mutation JoinWaitlist($input: JoinWaitlistInput!) {
    joinWaitlist(input: $input) {
      entry { id status }
      error { __typename code message ... on ValidationError { field } }
    }
  }
`);

export const AcceptWaitlistOfferMutation = graphql(`
  mutation AcceptWaitlistOffer($entryId: ID!) {
    acceptWaitlistOffer(entryId: $entryId) {
      appointment { id status start end }
      error { __typename code message }
    }
  }
`);

export const DeclineWaitlistOfferMutation = graphql(`
  mutation DeclineWaitlistOffer($entryId: ID!) {
    declineWaitlistOffer(entryId: $entryId) {
      entry { id status }
      error { __typename code message }
    }
  }
`);

export const LeaveWaitlistMutation = graphql(`
  mutation LeaveWaitlist($id: ID!) {
    leaveWaitlist(id: $id) {
      entry { id status }
      error { __typename code message }
    }
  }
`);

// Pushed within about 2 seconds of an offer (the hub polls for them): "My waitlist" reloads.
export const WaitlistOffersSubscription = graphql(`
  subscription WaitlistOffers {
    waitlistOffers { entry { id status } offer { id start end expiresAt } }
  }
`);
