package resolvers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/apphub/apphub"
)

// Who calls. Over HTTP (POST, GET, SSE) the principal is already in the request's context: the
// hub's middleware verified the Authorization header. A browser cannot set headers on a
// websocket, so a websocket names its caller in the payload of its connection_init message
// instead, as graphql-transport-ws and graphql-ws clients do ({"Authorization": "Bearer …"}),
// and websocketInit verifies it with Options.Authenticate.
//
// A credential ends (Principal.Expires); what streams under it ends with it: the websocket is
// closed with 4401 at that instant, an SSE stream completes. The client reconnects with a fresh
// credential.

// Close codes of a GraphQL websocket, as graphql-transport-ws names them; graphql-ws clients get
// the same.
const (
	// CloseUnauthorized: the connection_init's credential could not be verified, or the
	// connection's credential expired.
	CloseUnauthorized = 4401
	// CloseTooManyRequests: the principal has Options.MaxConnectionsPerPrincipal websockets
	// open already (graphql-transport-ws closes with 4429 for too many requests).
	CloseTooManyRequests = 4429
	// closeTryAgainLater (RFC 6455's 1013): the credential could not be checked right now.
	closeTryAgainLater = 1013
	// closeInternalError (RFC 6455's 1011): checking the credential failed unexpectedly.
	closeInternalError = 1011
)

// errCredentialExpired is the cause of a context that ended with its principal's credential.
var errCredentialExpired = errors.New("the credential expired")

// credentialOf reads the credential of a connection_init payload: "Authorization" (or
// "authorization") as an HTTP header would carry it ("Bearer <token>"), or "token" (the token
// alone, or "Bearer <token>"). ok is false when a value is there but is not a bearer
// credential.
func credentialOf(payload transport.InitPayload) (credential string, ok bool) {
	if auth := payload.Authorization(); auth != "" {
		scheme, token, found := strings.Cut(strings.TrimSpace(auth), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	token := strings.TrimSpace(payload.GetString("token"))
	if scheme, rest, found := strings.Cut(token, " "); found && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	return token, true
}

// wsSession is what the websocket transport keeps of one connection for its limits: the
// connection's place among its principal's websockets (Options.MaxConnectionsPerPrincipal),
// its running operations (Options.MaxSubscriptionsPerConnection, counted by operationGate),
// and the timer of its credential's expiry.
type wsSession struct {
	cancel context.CancelFunc // ends the expiry timer

	remoteHost string       // the host of the upgrade request's RemoteAddr
	conns      *connCounter // the instance's websockets
	maxConns   int          // per principal
	connKey    string       // the key the connection is counted under, once admitted
	mu         sync.Mutex   // guards ops and polls: operations end on their own goroutines
	ops        int          // operations running
	polls      int          // subscriptions that poll the service (waitlistOffers) running
}

type wsSessionKey struct{}

// admit counts the connection among p's, and reports whether p may have it. An anonymous caller
// is told apart by its address only: the edge puts the client's in RemoteAddr.
func (s *wsSession) admit(p apphub.Principal) bool {
	key := "principal:" + p.Ref()
	if p.Anonymous() {
		key = "address:" + s.remoteHost
	}
	if !s.conns.add(key, s.maxConns) {
		return false
	}
	s.connKey = key
	return true
}

// startOperation takes one of the connection's max operation slots, and reports whether there
// was one.
func (s *wsSession) startOperation(max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops >= max {
		return false
	}
	s.ops++
	return true
}

// endOperation gives back the slot of an operation that ended.
func (s *wsSession) endOperation() {
	s.mu.Lock()
	s.ops--
	s.mu.Unlock()
}

// startPoll takes one of the connection's max slots for a subscription that polls, and
// reports whether there was one.
func (s *wsSession) startPoll(max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.polls >= max {
		return false
	}
	s.polls++
	return true
}

// endPoll gives back the slot of a polling subscription that ended.
func (s *wsSession) endPoll() {
	s.mu.Lock()
	s.polls--
	s.mu.Unlock()
}

// stop releases the expiry timer and the connection's place once the connection is over.
func (s *wsSession) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.connKey != "" {
		s.conns.remove(s.connKey)
	}
}

// connCounter counts the open websockets of each principal on this instance.
type connCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func newConnCounter() *connCounter { return &connCounter{n: map[string]int{}} }

// add counts one more connection under key unless it has max already, and reports whether it
// did.
func (c *connCounter) add(key string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= max {
		return false
	}
	c.n[key]++
	return true
}

func (c *connCounter) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}

// untilExpiry returns ctx ending when p's credential does, with errCredentialExpired as its
// cause (ctx itself when the credential does not expire), and the function that releases its
// timer.
func untilExpiry(ctx context.Context, p apphub.Principal, now func() time.Time) (context.Context, context.CancelFunc) {
	if p.Expires.IsZero() {
		return ctx, func() {}
	}
	// The credential's expiry is on the clock that verified it, which need not be the
	// runtime's: count the time left on that clock.
	return context.WithTimeoutCause(ctx, p.Expires.Sub(now()), errCredentialExpired)
}

// websocketInit accepts a connection_init: the payload's credential, verified by authenticate,
// names the caller for every operation of the connection; without one, the caller is the
// upgrade request's principal (anonymous unless the client could send an Authorization header).
// A credential that does not verify closes the connection with 4401, as does one already
// expired; one that cannot be checked now with 1013, and an unexpected failure with 1011. A
// principal with too many websockets open is closed with 4429.
func websocketInit(authenticate func(context.Context, string) (apphub.Principal, error), now func() time.Time, logger *slog.Logger) wsInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, error) {
		refuse := func(code int, reason string, err error) (context.Context, error) {
			return nil, &wsRefusal{code: code, reason: reason, err: err}
		}
		p := apphub.PrincipalFromContext(ctx)
		credential, ok := credentialOf(payload)
		switch {
		case !ok:
			return refuse(CloseUnauthorized, "Unauthorized", apphub.Errorf(apphub.EUNAUTHENTICATED, "connection_init: Authorization must be \"Bearer <token>\""))
		case credential != "" && authenticate == nil:
			// Nothing here can verify it: refusing is safer than ignoring who the client says it is.
			return refuse(CloseUnauthorized, "Unauthorized", apphub.Errorf(apphub.EUNAUTHENTICATED, "this hub does not verify credentials on websockets"))
		case credential != "":
			var err error
			if p, err = authenticate(ctx, credential); err != nil {
				switch apphub.ErrorCode(err) {
				case apphub.EUNAVAILABLE:
					return refuse(closeTryAgainLater, "Try Again Later", apphub.Errorf(apphub.EUNAVAILABLE, "the credential cannot be checked now; try again"))
				case apphub.EINTERNAL:
					logger.ErrorContext(ctx, "verifying a websocket's credential", "err", err)
					return refuse(closeInternalError, "Internal Error", apphub.Errorf(apphub.EINTERNAL, "internal error"))
				}
				return refuse(CloseUnauthorized, "Unauthorized", apphub.Errorf(apphub.EUNAUTHENTICATED, "the credential is not valid: %s", apphub.ErrorMessage(err)))
			}
		}
		if !p.Expires.IsZero() && !now().Before(p.Expires) {
			return refuse(CloseUnauthorized, "Unauthorized", apphub.Errorf(apphub.EUNAUTHENTICATED, "the credential expired"))
		}
		ctx = apphub.NewContextWithPrincipal(ctx, p)
		if s, ok := ctx.Value(wsSessionKey{}).(*wsSession); ok {
			if !s.admit(p) {
				return refuse(CloseTooManyRequests, "Too Many Requests", apphub.Errorf(apphub.ERATELIMITED,
					"this caller has %d websockets open already, the most it may", s.maxConns))
			}
			ctx, s.cancel = untilExpiry(ctx, p, now)
		}
		return ctx, nil
	}
}
