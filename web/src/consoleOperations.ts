import { graphql } from './gql';

// The agent console's operations. Every appointment is read with the same fields, so that the
// day list, the search results, the live changes and the actions' answers merge by version.

// The hub costs a list at its page size times its selection (limit 1000 by default), so the
// selection is kept small and the day's page is 50 rather than 100: resource names and time
// zones come from the pickers.
export const ConsoleApptFragment = graphql(`
  fragment ConsoleAppt on Appointment {
    id version status statusReason start end place partyId
    category { name }
    resource { id place }
    contactMedia { value }
  }
`);

export const ConsolePickersQuery = graphql(`
  query ConsolePickers {
    resources { id kind name timeZone place }
    places { id name timeZone city }
  }
`);

export const ConsoleDayQuery = graphql(`
  query ConsoleDay($filter: AppointmentFilter!) {
    appointments(filter: $filter, first: 30) {
      pageInfo { hasNextPage }
      edges {
        node {
          ...ConsoleAppt
        }
      }
    }
  }
`);

export const ConsoleSearchQuery = graphql(`
  query ConsoleSearch($id: ID!, $partyId: String!) {
    appointment(id: $id) {
      ...ConsoleAppt
    }
    appointments(filter: { partyId: $partyId }, first: 20) {
      edges {
        node {
          ...ConsoleAppt
        }
      }
    }
  }
`);

export const ConsoleChangesSubscription = graphql(`
  subscription ConsoleChanges($id: ID, $resource: ID) {
    appointmentChanged(id: $id, resource: $resource) {
      kind version
      appointment {
        ...ConsoleAppt
      }
    }
  }
`);

export const ConfirmMutation = graphql(`
  mutation ConsoleConfirm($input: ChangeStatusInput!) {
    confirmAppointment(input: $input) {
      appointment {
        ...ConsoleAppt
      }
      error { __typename code message ... on VersionConflict { currentVersion } }
    }
  }
`);

export const CompleteMutation = graphql(`
  mutation ConsoleComplete($input: ChangeStatusInput!) {
    completeAppointment(input: $input) {
      appointment {
        ...ConsoleAppt
      }
      error { __typename code message ... on VersionConflict { currentVersion } }
    }
  }
`);

export const FailMutation = graphql(`
  mutation ConsoleFail($input: ChangeStatusInput!) {
    failAppointment(input: $input) {
      appointment {
        ...ConsoleAppt
      }
      error { __typename code message ... on VersionConflict { currentVersion } }
    }
  }
`);
