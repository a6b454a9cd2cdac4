// Package apphub holds the domain of the appointment hub: appointments, bookable resources,
// categories, slots, their status machine, events, principals and coded errors.
//
// It imports only the standard library. Transports (GraphQL, TMF646 REST) and stores
// (MongoDB, Redis) depend on it, never the other way round.
package apphub
