/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ConsoleAppt on Appointment {\n    id version status statusReason start end place partyId\n    category { name }\n    resource { id place }\n    contactMedia { value }\n  }\n": typeof types.ConsoleApptFragmentDoc,
    "\n  query ConsolePickers {\n    resources { id kind name timeZone place }\n    places { id name timeZone city }\n  }\n": typeof types.ConsolePickersDocument,
    "\n  query ConsoleDay($filter: AppointmentFilter!) {\n    appointments(filter: $filter, first: 30) {\n      pageInfo { hasNextPage }\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n": typeof types.ConsoleDayDocument,
    "\n  query ConsoleSearch($id: ID!, $partyId: String!) {\n    appointment(id: $id) {\n      ...ConsoleAppt\n    }\n    appointments(filter: { partyId: $partyId }, first: 20) {\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n": typeof types.ConsoleSearchDocument,
    "\n  subscription ConsoleChanges($id: ID, $resource: ID) {\n    appointmentChanged(id: $id, resource: $resource) {\n      kind version\n      appointment {\n        ...ConsoleAppt\n      }\n    }\n  }\n": typeof types.ConsoleChangesDocument,
    "\n  mutation ConsoleConfirm($input: ChangeStatusInput!) {\n    confirmAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": typeof types.ConsoleConfirmDocument,
    "\n  mutation ConsoleComplete($input: ChangeStatusInput!) {\n    completeAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": typeof types.ConsoleCompleteDocument,
    "\n  mutation ConsoleFail($input: ChangeStatusInput!) {\n    failAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": typeof types.ConsoleFailDocument,
    "\n  query Pickers {\n    categories { id name durationMinutes stepMinutes atPlace }\n    zones { id name timeZone postCodes }\n    places { id name timeZone postCode city }\n  }\n": typeof types.PickersDocument,
    "\n  query Availability($input: AvailabilityInput!) {\n    availability(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n": typeof types.AvailabilityDocument,
    "\n  subscription AvailabilityChanged($input: AvailabilityInput!) {\n    availabilityChanged(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n": typeof types.AvailabilityChangedDocument,
    "\n  mutation HoldSlot($input: HoldSlotInput!) {\n    holdSlot(input: $input) {\n      hold { token expiresAt appointmentId start end }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n      }\n    }\n  }\n": typeof types.HoldSlotDocument,
    "\n  mutation BookAppointment($input: BookAppointmentInput!) {\n    bookAppointment(input: $input) {\n      appointment { id status start end version }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on ValidationError { field }\n      }\n    }\n  }\n": typeof types.BookAppointmentDocument,
    "\n  query Appointment($id: ID!) {\n    appointment(id: $id) {\n      id version status statusReason start end place\n      category { id name stepMinutes atPlace }\n      resource { id }\n      crew { id name }\n    }\n  }\n": typeof types.AppointmentDocument,
    "\n  query CalendarFile($id: ID!) {\n    appointment(id: $id) {\n      id\n      calendarFile { url }\n    }\n  }\n": typeof types.CalendarFileDocument,
    "\n  subscription AppointmentChanged($id: ID!) {\n    appointmentChanged(id: $id) {\n      kind version fields\n      appointment { id version status statusReason start end crew { id name } }\n    }\n  }\n": typeof types.AppointmentChangedDocument,
    "\n  mutation Reschedule($input: RescheduleAppointmentInput!) {\n    rescheduleAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n": typeof types.RescheduleDocument,
    "\n  mutation Cancel($input: ChangeStatusInput!) {\n    cancelAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n": typeof types.CancelDocument,
    "\n  query WaitlistEntries {\n    waitlistEntries {\n      id place status from to createdAt\n      category { id name }\n      offer { id start end expiresAt }\n    }\n  }\n": typeof types.WaitlistEntriesDocument,
    "\n  mutation JoinWaitlist($input: JoinWaitlistInput!) {\n    joinWaitlist(input: $input) {\n      entry { id status }\n      error { __typename code message ... on ValidationError { field } }\n    }\n  }\n": typeof types.JoinWaitlistDocument,
    "\n  mutation AcceptWaitlistOffer($entryId: ID!) {\n    acceptWaitlistOffer(entryId: $entryId) {\n      appointment { id status start end }\n      error { __typename code message }\n    }\n  }\n": typeof types.AcceptWaitlistOfferDocument,
    "\n  mutation DeclineWaitlistOffer($entryId: ID!) {\n    declineWaitlistOffer(entryId: $entryId) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n": typeof types.DeclineWaitlistOfferDocument,
    "\n  mutation LeaveWaitlist($id: ID!) {\n    leaveWaitlist(id: $id) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n": typeof types.LeaveWaitlistDocument,
    "\n  subscription WaitlistOffers {\n    waitlistOffers { entry { id status } offer { id start end expiresAt } }\n  }\n": typeof types.WaitlistOffersDocument,
    "\n  query Viewer {\n    viewer { partyId roles resources places parties expiresAt }\n  }\n": typeof types.ViewerDocument,
};
const documents: Documents = {
    "\n  fragment ConsoleAppt on Appointment {\n    id version status statusReason start end place partyId\n    category { name }\n    resource { id place }\n    contactMedia { value }\n  }\n": types.ConsoleApptFragmentDoc,
    "\n  query ConsolePickers {\n    resources { id kind name timeZone place }\n    places { id name timeZone city }\n  }\n": types.ConsolePickersDocument,
    "\n  query ConsoleDay($filter: AppointmentFilter!) {\n    appointments(filter: $filter, first: 30) {\n      pageInfo { hasNextPage }\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n": types.ConsoleDayDocument,
    "\n  query ConsoleSearch($id: ID!, $partyId: String!) {\n    appointment(id: $id) {\n      ...ConsoleAppt\n    }\n    appointments(filter: { partyId: $partyId }, first: 20) {\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n": types.ConsoleSearchDocument,
    "\n  subscription ConsoleChanges($id: ID, $resource: ID) {\n    appointmentChanged(id: $id, resource: $resource) {\n      kind version\n      appointment {\n        ...ConsoleAppt\n      }\n    }\n  }\n": types.ConsoleChangesDocument,
    "\n  mutation ConsoleConfirm($input: ChangeStatusInput!) {\n    confirmAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": types.ConsoleConfirmDocument,
    "\n  mutation ConsoleComplete($input: ChangeStatusInput!) {\n    completeAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": types.ConsoleCompleteDocument,
    "\n  mutation ConsoleFail($input: ChangeStatusInput!) {\n    failAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n": types.ConsoleFailDocument,
    "\n  query Pickers {\n    categories { id name durationMinutes stepMinutes atPlace }\n    zones { id name timeZone postCodes }\n    places { id name timeZone postCode city }\n  }\n": types.PickersDocument,
    "\n  query Availability($input: AvailabilityInput!) {\n    availability(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n": types.AvailabilityDocument,
    "\n  subscription AvailabilityChanged($input: AvailabilityInput!) {\n    availabilityChanged(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n": types.AvailabilityChangedDocument,
    "\n  mutation HoldSlot($input: HoldSlotInput!) {\n    holdSlot(input: $input) {\n      hold { token expiresAt appointmentId start end }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n      }\n    }\n  }\n": types.HoldSlotDocument,
    "\n  mutation BookAppointment($input: BookAppointmentInput!) {\n    bookAppointment(input: $input) {\n      appointment { id status start end version }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on ValidationError { field }\n      }\n    }\n  }\n": types.BookAppointmentDocument,
    "\n  query Appointment($id: ID!) {\n    appointment(id: $id) {\n      id version status statusReason start end place\n      category { id name stepMinutes atPlace }\n      resource { id }\n      crew { id name }\n    }\n  }\n": types.AppointmentDocument,
    "\n  query CalendarFile($id: ID!) {\n    appointment(id: $id) {\n      id\n      calendarFile { url }\n    }\n  }\n": types.CalendarFileDocument,
    "\n  subscription AppointmentChanged($id: ID!) {\n    appointmentChanged(id: $id) {\n      kind version fields\n      appointment { id version status statusReason start end crew { id name } }\n    }\n  }\n": types.AppointmentChangedDocument,
    "\n  mutation Reschedule($input: RescheduleAppointmentInput!) {\n    rescheduleAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n": types.RescheduleDocument,
    "\n  mutation Cancel($input: ChangeStatusInput!) {\n    cancelAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n": types.CancelDocument,
    "\n  query WaitlistEntries {\n    waitlistEntries {\n      id place status from to createdAt\n      category { id name }\n      offer { id start end expiresAt }\n    }\n  }\n": types.WaitlistEntriesDocument,
    "\n  mutation JoinWaitlist($input: JoinWaitlistInput!) {\n    joinWaitlist(input: $input) {\n      entry { id status }\n      error { __typename code message ... on ValidationError { field } }\n    }\n  }\n": types.JoinWaitlistDocument,
    "\n  mutation AcceptWaitlistOffer($entryId: ID!) {\n    acceptWaitlistOffer(entryId: $entryId) {\n      appointment { id status start end }\n      error { __typename code message }\n    }\n  }\n": types.AcceptWaitlistOfferDocument,
    "\n  mutation DeclineWaitlistOffer($entryId: ID!) {\n    declineWaitlistOffer(entryId: $entryId) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n": types.DeclineWaitlistOfferDocument,
    "\n  mutation LeaveWaitlist($id: ID!) {\n    leaveWaitlist(id: $id) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n": types.LeaveWaitlistDocument,
    "\n  subscription WaitlistOffers {\n    waitlistOffers { entry { id status } offer { id start end expiresAt } }\n  }\n": types.WaitlistOffersDocument,
    "\n  query Viewer {\n    viewer { partyId roles resources places parties expiresAt }\n  }\n": types.ViewerDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ConsoleAppt on Appointment {\n    id version status statusReason start end place partyId\n    category { name }\n    resource { id place }\n    contactMedia { value }\n  }\n"): (typeof documents)["\n  fragment ConsoleAppt on Appointment {\n    id version status statusReason start end place partyId\n    category { name }\n    resource { id place }\n    contactMedia { value }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsolePickers {\n    resources { id kind name timeZone place }\n    places { id name timeZone city }\n  }\n"): (typeof documents)["\n  query ConsolePickers {\n    resources { id kind name timeZone place }\n    places { id name timeZone city }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleDay($filter: AppointmentFilter!) {\n    appointments(filter: $filter, first: 30) {\n      pageInfo { hasNextPage }\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleDay($filter: AppointmentFilter!) {\n    appointments(filter: $filter, first: 30) {\n      pageInfo { hasNextPage }\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleSearch($id: ID!, $partyId: String!) {\n    appointment(id: $id) {\n      ...ConsoleAppt\n    }\n    appointments(filter: { partyId: $partyId }, first: 20) {\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleSearch($id: ID!, $partyId: String!) {\n    appointment(id: $id) {\n      ...ConsoleAppt\n    }\n    appointments(filter: { partyId: $partyId }, first: 20) {\n      edges {\n        node {\n          ...ConsoleAppt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleChanges($id: ID, $resource: ID) {\n    appointmentChanged(id: $id, resource: $resource) {\n      kind version\n      appointment {\n        ...ConsoleAppt\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleChanges($id: ID, $resource: ID) {\n    appointmentChanged(id: $id, resource: $resource) {\n      kind version\n      appointment {\n        ...ConsoleAppt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleConfirm($input: ChangeStatusInput!) {\n    confirmAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleConfirm($input: ChangeStatusInput!) {\n    confirmAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleComplete($input: ChangeStatusInput!) {\n    completeAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleComplete($input: ChangeStatusInput!) {\n    completeAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleFail($input: ChangeStatusInput!) {\n    failAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleFail($input: ChangeStatusInput!) {\n    failAppointment(input: $input) {\n      appointment {\n        ...ConsoleAppt\n      }\n      error { __typename code message ... on VersionConflict { currentVersion } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Pickers {\n    categories { id name durationMinutes stepMinutes atPlace }\n    zones { id name timeZone postCodes }\n    places { id name timeZone postCode city }\n  }\n"): (typeof documents)["\n  query Pickers {\n    categories { id name durationMinutes stepMinutes atPlace }\n    zones { id name timeZone postCodes }\n    places { id name timeZone postCode city }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Availability($input: AvailabilityInput!) {\n    availability(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n"): (typeof documents)["\n  query Availability($input: AvailabilityInput!) {\n    availability(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AvailabilityChanged($input: AvailabilityInput!) {\n    availabilityChanged(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n"): (typeof documents)["\n  subscription AvailabilityChanged($input: AvailabilityInput!) {\n    availabilityChanged(input: $input) {\n      timeZone\n      days { date slots { start end capacity } }\n      reasons { code message }\n      nextDates\n      version\n      recommended(first: 3) { start end capacity resource { id } reasons { code message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation HoldSlot($input: HoldSlotInput!) {\n    holdSlot(input: $input) {\n      hold { token expiresAt appointmentId start end }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation HoldSlot($input: HoldSlotInput!) {\n    holdSlot(input: $input) {\n      hold { token expiresAt appointmentId start end }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BookAppointment($input: BookAppointmentInput!) {\n    bookAppointment(input: $input) {\n      appointment { id status start end version }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on ValidationError { field }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation BookAppointment($input: BookAppointmentInput!) {\n    bookAppointment(input: $input) {\n      appointment { id status start end version }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on ValidationError { field }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Appointment($id: ID!) {\n    appointment(id: $id) {\n      id version status statusReason start end place\n      category { id name stepMinutes atPlace }\n      resource { id }\n      crew { id name }\n    }\n  }\n"): (typeof documents)["\n  query Appointment($id: ID!) {\n    appointment(id: $id) {\n      id version status statusReason start end place\n      category { id name stepMinutes atPlace }\n      resource { id }\n      crew { id name }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CalendarFile($id: ID!) {\n    appointment(id: $id) {\n      id\n      calendarFile { url }\n    }\n  }\n"): (typeof documents)["\n  query CalendarFile($id: ID!) {\n    appointment(id: $id) {\n      id\n      calendarFile { url }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AppointmentChanged($id: ID!) {\n    appointmentChanged(id: $id) {\n      kind version fields\n      appointment { id version status statusReason start end crew { id name } }\n    }\n  }\n"): (typeof documents)["\n  subscription AppointmentChanged($id: ID!) {\n    appointmentChanged(id: $id) {\n      kind version fields\n      appointment { id version status statusReason start end crew { id name } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Reschedule($input: RescheduleAppointmentInput!) {\n    rescheduleAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Reschedule($input: RescheduleAppointmentInput!) {\n    rescheduleAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on SlotUnavailable { alternatives { start end capacity } }\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Cancel($input: ChangeStatusInput!) {\n    cancelAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Cancel($input: ChangeStatusInput!) {\n    cancelAppointment(input: $input) {\n      appointment { id version status statusReason start end crew { id name } }\n      error {\n        __typename code message\n        ... on VersionConflict { currentVersion }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WaitlistEntries {\n    waitlistEntries {\n      id place status from to createdAt\n      category { id name }\n      offer { id start end expiresAt }\n    }\n  }\n"): (typeof documents)["\n  query WaitlistEntries {\n    waitlistEntries {\n      id place status from to createdAt\n      category { id name }\n      offer { id start end expiresAt }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation JoinWaitlist($input: JoinWaitlistInput!) {\n    joinWaitlist(input: $input) {\n      entry { id status }\n      error { __typename code message ... on ValidationError { field } }\n    }\n  }\n"): (typeof documents)["\n  mutation JoinWaitlist($input: JoinWaitlistInput!) {\n    joinWaitlist(input: $input) {\n      entry { id status }\n      error { __typename code message ... on ValidationError { field } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AcceptWaitlistOffer($entryId: ID!) {\n    acceptWaitlistOffer(entryId: $entryId) {\n      appointment { id status start end }\n      error { __typename code message }\n    }\n  }\n"): (typeof documents)["\n  mutation AcceptWaitlistOffer($entryId: ID!) {\n    acceptWaitlistOffer(entryId: $entryId) {\n      appointment { id status start end }\n      error { __typename code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeclineWaitlistOffer($entryId: ID!) {\n    declineWaitlistOffer(entryId: $entryId) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n"): (typeof documents)["\n  mutation DeclineWaitlistOffer($entryId: ID!) {\n    declineWaitlistOffer(entryId: $entryId) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveWaitlist($id: ID!) {\n    leaveWaitlist(id: $id) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n"): (typeof documents)["\n  mutation LeaveWaitlist($id: ID!) {\n    leaveWaitlist(id: $id) {\n      entry { id status }\n      error { __typename code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WaitlistOffers {\n    waitlistOffers { entry { id status } offer { id start end expiresAt } }\n  }\n"): (typeof documents)["\n  subscription WaitlistOffers {\n    waitlistOffers { entry { id status } offer { id start end expiresAt } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer { partyId roles resources places parties expiresAt }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer { partyId roles resources places parties expiresAt }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;