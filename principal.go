package apphub

import (
	"context"
	"time"
)

// Roles of a principal.
const (
	RoleCustomer = "customer" // a customer: its own appointments
	RoleAgent    = "agent"    // a customer-center or field agent: the appointments of the resources and places it serves
	RolePartner  = "partner"  // a partner system: what it created, and the appointments of the parties it may act for
	RoleAdmin    = "admin"    // an operator: everything, calendars included
)

// Principal is who is calling, as the transports verified it (a bearer token, an API key) or
// nobody (the zero value: anonymous). Transports put it in the context; booking decides what
// it may do.
type Principal struct {
	PartyID   string    // a customer's party; the subject of an agent, a partner or an admin
	Roles     []string  // RoleCustomer, RoleAgent, RolePartner, RoleAdmin
	Resources []string  // an agent's: the resources it serves
	Places    []string  // an agent's: the places it serves
	Parties   []string  // a partner's: the customer parties it may act for
	KeyID     string    // set when an API key named the principal: the key's id
	Expires   time.Time // when the credential ends (zero: it does not)
}

// Ref names p in records (an appointment's creator, a revision's author): its first role and
// its party, e.g. "partner:acme"; "anonymous" for nobody.
func (p Principal) Ref() string {
	if p.Anonymous() {
		return "anonymous"
	}
	role := "party"
	if len(p.Roles) > 0 {
		role = p.Roles[0]
	}
	return role + ":" + p.PartyID
}

// Anonymous reports whether p is nobody.
func (p Principal) Anonymous() bool { return p.PartyID == "" && len(p.Roles) == 0 }

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
