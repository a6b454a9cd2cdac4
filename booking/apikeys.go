package booking

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"

	"github.com/apphub/apphub"
)

// NewAPIKey asks for a key for a partner system (or an operator's tool).
type NewAPIKey struct {
	Name    string   // who it is for; also the principal's party id
	Role    string   // apphub.RolePartner or apphub.RoleAdmin
	Parties []string // a partner's: the customer parties it may act for
}

// CreateAPIKey makes a key (admins only). The key is returned once; only its hash is kept.
func (s *Service) CreateAPIKey(ctx context.Context, req NewAPIKey) (string, apphub.APIKey, error) {
	p := apphub.PrincipalFromContext(ctx)
	if err := requireRole(p, apphub.RoleAdmin); err != nil {
		return "", apphub.APIKey{}, err
	}
	if strings.TrimSpace(req.Name) == "" {
		return "", apphub.APIKey{}, apphub.FieldError("name", "is required")
	}
	if req.Role != apphub.RolePartner && req.Role != apphub.RoleAdmin {
		return "", apphub.APIKey{}, apphub.FieldError("role", "must be %s or %s", apphub.RolePartner, apphub.RoleAdmin)
	}
	key := apphub.APIKeyPrefix + strings.ToLower(rand.Text()) + strings.ToLower(rand.Text())
	k := apphub.APIKey{ID: apphub.APIKeyID(key), Name: req.Name, Role: req.Role, Parties: slices.Clone(req.Parties),
		CreatedBy: p.Ref(), CreatedAt: s.now().UTC()}
	if err := s.store.InsertAPIKey(ctx, k); err != nil {
		return "", apphub.APIKey{}, err
	}
	return key, k, nil
}

// RevokeAPIKey ends a key (admins only); every instance refuses it within seconds.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (apphub.APIKey, error) {
	if err := requireRole(apphub.PrincipalFromContext(ctx), apphub.RoleAdmin); err != nil {
		return apphub.APIKey{}, err
	}
	if _, err := s.store.GetAPIKey(ctx, id); err != nil {
		return apphub.APIKey{}, err
	}
	if err := s.store.RevokeAPIKey(ctx, id, s.now().UTC()); err != nil {
		return apphub.APIKey{}, err
	}
	return s.store.GetAPIKey(ctx, id)
}

// APIKeys lists the keys (admins only), without the keys themselves.
func (s *Service) APIKeys(ctx context.Context) ([]apphub.APIKey, error) {
	if err := requireRole(apphub.PrincipalFromContext(ctx), apphub.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListAPIKeys(ctx)
}
