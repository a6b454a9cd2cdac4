// Package identity tells who is calling. It verifies the bearer tokens (JWTs) of the
// operator's identity provider — or, when none is configured, of the hub's own local key — and
// turns their claims into an apphub.Principal. What a principal may do is booking's business.
//
// Claims read from a token (the party claim is configurable; the others are fixed names):
//
//	sub (or Config.PartyClaim)  the party: a customer's own party id; an agent's, a partner's or
//	                            an admin's subject
//	roles                       customer, agent, partner, admin (an array, or a string of names
//	                            separated by spaces); else the same names in scope
//	resources, places           an agent's assignment: the resources and places it serves
//	parties                     the customer parties a partner may act for; also scope entries
//	                            "party:ID"
//
// Tokens are signed RS256 or ES256 only: "none", HMAC and anything else are refused, so a public
// key can never serve as an HMAC secret. iss and aud must match; exp and nbf are checked with a
// small skew (Config.Skew).
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/apphub/apphub"
)

// Roles a token may carry.
var knownRoles = []string{apphub.RoleCustomer, apphub.RoleAgent, apphub.RolePartner, apphub.RoleAdmin}

// Config says which tokens to trust.
type Config struct {
	Issuer   string // the iss tokens must carry
	Audience string // an aud tokens must carry
	// The keys: a JWKS URL (fetched when first needed and again whenever a token names a key
	// it does not hold, so the provider can rotate), a JWKS file, or Keys.
	JWKSURL  string
	JWKSFile string
	Keys     *jose.JSONWebKeySet
	// PartyClaim names the claim that holds the party; default "sub".
	PartyClaim string
	// DefaultRole is the role of a token that carries none the hub knows; empty: such a token
	// is refused. Meant for an issuer that signs in customers only: RoleCustomer.
	DefaultRole string
	// Skew is the clock difference allowed on exp and nbf; default 30s.
	Skew time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verifier checks bearer tokens.
type Verifier struct {
	verifier    *oidc.IDTokenVerifier
	partyClaim  string
	defaultRole string
	skew        time.Duration
	now         func() time.Time
}

// NewVerifier returns a verifier for cfg. ctx bounds nothing but carries the HTTP client used
// to fetch a JWKS URL (oidc.ClientContext), if any.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("identity: an issuer and an audience are required")
	}
	var keys oidc.KeySet
	switch {
	case cfg.JWKSURL != "":
		keys = oidc.NewRemoteKeySet(ctx, cfg.JWKSURL)
	case cfg.JWKSFile != "":
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("identity: read the JWKS file: %w", err)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			return nil, fmt.Errorf("identity: the JWKS file %s: %w", cfg.JWKSFile, err)
		}
		if keys, err = staticKeys(&set); err != nil {
			return nil, err
		}
	case cfg.Keys != nil:
		var err error
		if keys, err = staticKeys(cfg.Keys); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("identity: no keys: give a JWKS URL or file")
	}
	v := &Verifier{partyClaim: cfg.PartyClaim, defaultRole: cfg.DefaultRole, skew: cfg.Skew, now: cfg.Now}
	if v.partyClaim == "" {
		v.partyClaim = "sub"
	}
	if v.skew <= 0 {
		v.skew = 30 * time.Second
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.verifier = oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		// exp may be up to skew in the past; nbf is checked below with the same skew (the
		// library's own nbf check allows five minutes).
		Now: func() time.Time { return v.now().Add(-v.skew) },
	})
	return v, nil
}

// staticKeys keeps the public halves of a key set.
func staticKeys(set *jose.JSONWebKeySet) (oidc.KeySet, error) {
	var out oidc.StaticKeySet
	for _, k := range set.Keys {
		if k.IsPublic() {
			out.PublicKeys = append(out.PublicKeys, k.Key)
		} else {
			out.PublicKeys = append(out.PublicKeys, k.Public().Key)
		}
	}
	if len(out.PublicKeys) == 0 {
		return nil, errors.New("identity: the key set holds no key")
	}
	return &out, nil
}

// claims are the token's claims the hub reads.
type claims struct {
	NotBefore *float64        `json:"nbf"`
	Roles     json.RawMessage `json:"roles"`
	Scope     string          `json:"scope"`
	Resources []string        `json:"resources"`
	Places    []string        `json:"places"`
	Parties   []string        `json:"parties"`
}

// Verify checks a token and returns the principal it names, valid until the token expires. A
// token that fails any check is EUNAUTHENTICATED, with the reason in the message.
func (v *Verifier) Verify(ctx context.Context, raw string) (apphub.Principal, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return apphub.Principal{}, apphub.WrapError(apphub.EUNAUTHENTICATED, err, "the bearer token is not valid: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var c claims
	all := map[string]any{}
	if err := tok.Claims(&c); err != nil {
		return apphub.Principal{}, apphub.WrapError(apphub.EUNAUTHENTICATED, err, "the bearer token's claims cannot be read")
	}
	if err := tok.Claims(&all); err != nil {
		return apphub.Principal{}, apphub.WrapError(apphub.EUNAUTHENTICATED, err, "the bearer token's claims cannot be read")
	}
	if c.NotBefore != nil {
		if nbf := time.Unix(int64(*c.NotBefore), 0); v.now().Add(v.skew).Before(nbf) {
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the bearer token is not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	party, _ := all[v.partyClaim].(string)
	if party == "" {
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the bearer token names no party (claim %q)", v.partyClaim)
	}
	p := apphub.Principal{PartyID: party, Roles: roles(c), Resources: c.Resources, Places: c.Places,
		Parties: c.Parties, Expires: tok.Expiry}
	for _, s := range strings.Fields(c.Scope) {
		if id, ok := strings.CutPrefix(s, "party:"); ok && id != "" {
			p.Parties = append(p.Parties, id)
		}
	}
	if len(p.Roles) == 0 && v.defaultRole != "" {
		p.Roles = []string{v.defaultRole}
	}
	if len(p.Roles) == 0 {
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the bearer token carries no role the hub knows (%s)", strings.Join(knownRoles, ", "))
	}
	return p, nil
}

// roles reads the roles claim (an array, or names separated by spaces), else the scope.
func roles(c claims) []string {
	var names []string
	var list []string
	var one string
	switch {
	case json.Unmarshal(c.Roles, &list) == nil:
		names = list
	case json.Unmarshal(c.Roles, &one) == nil:
		names = strings.Fields(one)
	}
	if len(names) == 0 {
		names = strings.Fields(c.Scope)
	}
	var out []string
	for _, n := range names {
		if slices.Contains(knownRoles, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
