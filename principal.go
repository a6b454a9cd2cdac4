package apphub

import "context"

// Principal is who is calling: a party id and its roles. Transports put it in the context;
// booking reads it, so that authorization can be added without reshaping any API.
type Principal struct {
	PartyID string
	Roles   []string
}

// HasRole reports whether p has the named role.
func (p Principal) HasRole(role string) bool {
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type principalKey struct{}

// NewContextWithPrincipal returns a copy of ctx that carries p.
func NewContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal carried by ctx, or an anonymous one.
func PrincipalFromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
