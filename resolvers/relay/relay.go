// Package relay holds the Go type of GraphQL's Node interface (Relay's object identification):
// any of the domain types that have a global id. It is a package of its own because the
// generated code refers to it and the resolvers use the generated code.
package relay

// Node is an *apphub.Appointment, *apphub.SearchTimeSlot, *apphub.Resource, *apphub.Place,
// *apphub.Category, *apphub.Hold or *booking.WaitlistView.
type Node interface{}
