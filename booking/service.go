package booking

import (
	"context"

	"github.com/apphub/apphub"
)

// Store is what the booking service needs from its database.
type Store interface {
	Installation(ctx context.Context) (apphub.Installation, error)
}

// Service is the one place for business rules: every transport calls it.
type Service struct {
	store Store
}

// NewService returns a service on store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Installation returns the identity of the hub's data.
func (s *Service) Installation(ctx context.Context) (apphub.Installation, error) {
	return s.store.Installation(ctx)
}
