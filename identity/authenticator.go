package identity

import (
	"context"
	"strings"

	"github.com/apphub/apphub"
)

// Authenticator tells who sent a credential: a bearer token (a JWT, checked by a Verifier) or
// an API key (checked by Keys, told apart by apphub.APIKeyPrefix).
type Authenticator struct {
	tokens *Verifier
	keys   *Keys
}

// NewAuthenticator returns an authenticator of tokens and keys; either may be nil, and then
// that kind of credential is refused.
func NewAuthenticator(tokens *Verifier, keys *Keys) *Authenticator {
	return &Authenticator{tokens: tokens, keys: keys}
}

// Authenticate returns the principal credential names. credential is an Authorization header's
// value ("Bearer <token or key>") or, as a websocket's connection_init carries it, the token or
// key alone. No credential is nobody: the anonymous (zero) principal and no error, and booking
// decides what nobody may do. Any credential that is not valid is EUNAUTHENTICATED, never
// anonymous, so that a client with an expired token learns it instead of seeing less. A store
// that cannot be read to check a key gives its own error (UNAVAILABLE).
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (apphub.Principal, error) {
	credential = strings.TrimSpace(credential)
	if credential == "" {
		return apphub.Principal{}, nil
	}
	token := credential
	if scheme, rest, found := strings.Cut(credential, " "); found {
		if !strings.EqualFold(scheme, "Bearer") {
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the hub takes Bearer credentials only, not %q", truncate(scheme, 20))
		}
		token = strings.TrimSpace(rest)
	}
	switch {
	case token == "":
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "the Bearer credential is empty")
	case strings.HasPrefix(token, apphub.APIKeyPrefix):
		if a.keys == nil {
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "API keys are not accepted here")
		}
		return a.keys.Verify(ctx, token)
	default:
		if a.tokens == nil {
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "bearer tokens are not accepted here")
		}
		return a.tokens.Verify(ctx, token)
	}
}

// truncate keeps messages that quote what a caller sent short.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
