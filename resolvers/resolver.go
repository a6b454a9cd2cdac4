// Package resolvers is the GraphQL transport: hand-written resolvers that convert GraphQL
// input, call the booking service and convert its answer back. Domain error codes are mapped
// to `extensions.code` here, once.
package resolvers

import (
	"context"

	"github.com/apphub/apphub"
)

// Service is what the resolvers need from the booking service.
type Service interface {
	Installation(ctx context.Context) (apphub.Installation, error)
}

// Resolver is the root resolver.
type Resolver struct {
	Service Service
	Version string
}
