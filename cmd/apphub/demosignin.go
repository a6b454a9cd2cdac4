package main

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/identity"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/tmfrest"
)

// demoTokenTTL is how long a demo sign-in lasts: a visit, not a day.
const demoTokenTTL = 2 * time.Hour

// demoSignIn is the channel app's "Sign in (demo)" in local-key mode, where there is no
// identity provider to sign customers in: it gives the browser a token for a fresh random
// customer party. The party is always the hub's choice, never the caller's, so that a demo
// sign-in can only ever reach appointments it booked itself. Each one spends a write from the
// caller's budget. The hub registers it in local-key mode only (serve.go).
func demoSignIn(key *identity.LocalKey, now func() time.Time, limits limiter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := limits.Allow(r.Context(), resolvers.LimitClassWrite, rateKey(r.Context())); err != nil {
			tmfrest.WriteError(w, err)
			return
		}
		at := now()
		party := "demo-" + strings.ToLower(rand.Text()[:16])
		token, err := key.Mint(identity.TokenRequest{Party: party, Roles: []string{apphub.RoleCustomer}, TTL: demoTokenTTL, Now: at})
		if err != nil {
			tmfrest.WriteError(w, apphub.WrapError(apphub.EINTERNAL, err, "internal error"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"token": token, "partyId": party,
			"expiresAt": at.Add(demoTokenTTL).UTC().Format(time.RFC3339)})
	})
}
