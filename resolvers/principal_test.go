package resolvers

import (
	"net/http"

	"github.com/apphub/apphub"
)

// WithPrincipal is the tests' stand-in for the hub's authentication middleware (cmd/apphub):
// every request through it calls as p, as if its bearer token had named p. Exported for the
// resolvers_test package; it exists only in tests.
func WithPrincipal(h http.Handler, p apphub.Principal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(apphub.NewContextWithPrincipal(r.Context(), p)))
	})
}

// operator is who the transport tests of this package call as: they are about the transport,
// and an admin may call everything.
var operator = apphub.Principal{PartyID: "ops-1", Roles: []string{apphub.RoleAdmin}}
