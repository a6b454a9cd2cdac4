package resolvers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/resolvers"
)

// Who may do what is booking's to decide (its tests cover the table); these tests check what
// the GraphQL transport makes of it: the codes, the websocket's credential and its expiry.

// errorCode returns the extensions.code of the first GraphQL error ("" when there is none).
func errorCode(errs json.RawMessage) string {
	var list []struct {
		Extensions struct{ Code string }
	}
	if json.Unmarshal(errs, &list) != nil || len(list) == 0 {
		return ""
	}
	return list[0].Extensions.Code
}

// Authentication and authorization failures are GraphQL errors with their code, in queries and
// in mutations alike (never a payload's typed error); another party's appointment stays a
// typed NotFound, as any missing one.
func TestAuthErrorCodes(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	anonymous, cust, stranger := ops.as(apphub.Principal{}), ops.as(customer), ops.as(other)
	start, tech := cust.firstRepairSlot()
	d := cust.do(`mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id partyId } `+errFields+` } }`, map[string]any{"s": start, "r": tech})
	id, _ := get(d, "bookAppointment.appointment.id").(string)
	if id == "" || get(d, "bookAppointment.appointment.partyId") != customer.PartyID {
		t.Fatalf("book: %v", d)
	}

	for _, tc := range []struct {
		name   string
		client *gqlClient
		doc    string
		code   string
	}{
		{"anonymous list", anonymous, `{ appointments { totalCount } }`, apphub.EUNAUTHENTICATED},
		{"anonymous availability on a private hub", anonymous,
			`{ availability(input: {category: "repair", place: "75011"}) { timeZone } }`, apphub.EUNAUTHENTICATED},
		{"anonymous mutation", anonymous,
			`mutation($s: Time!) { holdSlot(input: {category: "repair", place: "75011", start: $s}) { hold { token } ` + errFields + ` } }`, apphub.EUNAUTHENTICATED},
		{"anonymous change", anonymous,
			`mutation($id: ID!) { cancelAppointment(input: {id: $id}) { appointment { id } ` + errFields + ` } }`, apphub.EUNAUTHENTICATED},
		{"customer confirms", cust,
			`mutation($id: ID!) { confirmAppointment(input: {id: $id}) { appointment { id } ` + errFields + ` } }`, apphub.EFORBIDDEN},
		{"customer writes the calendar", cust,
			`mutation { upsertCategory(input: {id: "survey", name: "Survey", durationMinutes: 45}) { version ` + errFields + ` } }`, apphub.EFORBIDDEN},
		{"customer lists API keys", cust, `{ apiKeys { id } }`, apphub.EFORBIDDEN},
		{"customer makes an API key", cust,
			`mutation { createApiKey(input: {name: "me", role: "admin"}) { key ` + errFields + ` } }`, apphub.EFORBIDDEN},
		{"anonymous revokes an API key", anonymous, `mutation { revokeApiKey(id: "x") { id } }`, apphub.EUNAUTHENTICATED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, errs := tc.client.raw(tc.doc, map[string]any{"s": start, "id": id})
			if got := errorCode(errs); got != tc.code {
				t.Fatalf("code %q, want %q: data %v, errors %s", got, tc.code, data, errs)
			}
			for field, v := range data {
				if v != nil {
					t.Fatalf("a refused operation answered %s: %v", field, v)
				}
			}
		})
	}

	// Another customer's appointment does not exist for a customer: a typed NotFound, as for
	// an id nobody has.
	d = stranger.do(`mutation($id: ID!) { cancelAppointment(input: {id: $id}) { appointment { id } `+errFields+` } }`, map[string]any{"id": id})
	if get(d, "cancelAppointment.error.__typename") != "NotFound" {
		t.Fatalf("another's appointment: %v", d)
	}
	d = ops.do(`query($id: ID!) { appointment(id: $id) { status } }`, map[string]any{"id": id})
	if get(d, "appointment.status") != "INITIALIZED" {
		t.Fatalf("the refusals changed the appointment: %v", d)
	}
}

// The availability response cache serves its bytes only to a request booking lets search: an
// anonymous caller of a private hub gets UNAUTHENTICATED, even for a response kept for a
// customer.
func TestResponseCacheAsksWhoCalls(t *testing.T) {
	t.Parallel()
	h := newHandler(t, newService(t))
	body := fmt.Sprintf(`{"query":"{ availability(input: {category: \"repair\", place: \"75011\", from: \"%s\", to: \"%s\"}) { version days { date } } }"}`,
		now.Format(time.RFC3339), now.Add(48*time.Hour).Format(time.RFC3339))
	post := func(p apphub.Principal) string {
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		resolvers.WithPrincipal(h, p).ServeHTTP(rec, req)
		return rec.Body.String()
	}
	first := post(customer)
	if again := post(customer); again != first || !strings.Contains(first, `"version":"`) {
		t.Fatalf("the customer's request was not answered from the cache:\n%s\n%s", first, again)
	}
	if got := post(apphub.Principal{}); !strings.Contains(got, `"code":"UNAUTHENTICATED"`) {
		t.Fatalf("anonymous: %s", got)
	}
}

// A hub with public availability answers anonymous searches; everything else still needs
// someone.
func TestPublicAvailability(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{PublicAvailability: true}, resolvers.Options{})
	g := clientOf(t, e.h, apphub.Principal{})
	d := g.do(`{ availability(input: {category: "repair", place: "75011"}) { timeZone } }`, nil)
	if get(d, "availability.timeZone") != "Europe/Paris" {
		t.Fatalf("availability: %v", d)
	}
	if _, errs := g.raw(`{ appointments { totalCount } }`, nil); errorCode(errs) != apphub.EUNAUTHENTICATED {
		t.Fatalf("appointments: %s", errs)
	}
}

// An agent, a partner or an admin books for the customer it names; a customer books for itself
// whatever it names.
func TestBookForACustomer(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	start, tech := ops.firstRepairSlot()
	s0, _ := time.Parse(time.RFC3339, start)
	book := `mutation($s: Time!, $r: ID!, $c: ID) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s, customer: $c}) {
		appointment { id partyId history { by } } ` + errFields + ` } }`
	d := ops.do(book, map[string]any{"s": start, "r": tech, "c": "cust-9"})
	if get(d, "bookAppointment.appointment.partyId") != "cust-9" || get(d, "bookAppointment.appointment.history.0.by") != admin.Ref() {
		t.Fatalf("admin for cust-9: %v", d)
	}
	d = ops.as(customer).do(book, map[string]any{"s": ops.slotOf(tech, s0), "r": tech, "c": "cust-9"})
	if get(d, "bookAppointment.appointment.partyId") != customer.PartyID {
		t.Fatalf("a customer naming another: %v", d)
	}
}

// An admin issues, lists and revokes API keys; the key is shown once.
func TestAPIKeyAdministration(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	keyFields := `id name role parties createdAt lastUsedAt revokedAt`
	d := ops.do(`mutation { createApiKey(input: {name: "acme", role: "partner", parties: ["cust-1", "cust-2"]}) {
		key apiKey { `+keyFields+` } `+errFields+` } }`, nil)
	key, _ := get(d, "createApiKey.key").(string)
	id, _ := get(d, "createApiKey.apiKey.id").(string)
	if !strings.HasPrefix(key, apphub.APIKeyPrefix) || id != apphub.APIKeyID(key) || get(d, "createApiKey.apiKey.role") != "partner" ||
		get(d, "createApiKey.apiKey.parties.1") != "cust-2" || get(d, "createApiKey.apiKey.revokedAt") != nil || get(d, "createApiKey.apiKey.lastUsedAt") != nil ||
		get(d, "createApiKey.error") != nil {
		t.Fatalf("createApiKey: %v", d)
	}
	d = ops.do(`{ apiKeys { `+keyFields+` } }`, nil)
	if keys := get(d, "apiKeys").([]any); len(keys) != 1 || get(keys[0], "id") != id || get(keys[0], "name") != "acme" {
		t.Fatalf("apiKeys: %v", d)
	}
	if strings.Contains(fmt.Sprint(d), key) {
		t.Fatal("the list shows the key itself")
	}
	d = ops.do(`mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } none: revokeApiKey(id: "nope") { id } }`, map[string]any{"id": id})
	if get(d, "revokeApiKey.id") != id || get(d, "revokeApiKey.revokedAt") == nil || get(d, "none") != nil {
		t.Fatalf("revokeApiKey: %v", d)
	}

	d = ops.do(`mutation { createApiKey(input: {name: "acme", role: "owner"}) { key apiKey { id } `+errFields+` } }`, nil)
	if get(d, "createApiKey.error.__typename") != "ValidationError" || get(d, "createApiKey.error.field") != "role" || get(d, "createApiKey.key") != nil {
		t.Fatalf("a bad role: %v", d)
	}
}

// tokenAuth is the tests' Options.Authenticate: "customer-token" is the customer, for lifetime
// from when it is checked when that is not 0 (each expiry is sent on issued, when given);
// "down" cannot be checked now; "bug" fails unexpectedly; anything else is not valid.
func tokenAuth(lifetime time.Duration, issued chan<- time.Time) func(context.Context, string) (apphub.Principal, error) {
	return func(_ context.Context, credential string) (apphub.Principal, error) {
		switch credential {
		case "customer-token":
			p := customer
			if lifetime != 0 {
				p.Expires = time.Now().Add(lifetime)
				if issued != nil {
					issued <- p.Expires
				}
			}
			return p, nil
		case "down":
			return apphub.Principal{}, apphub.Errorf(apphub.EUNAVAILABLE, "the key store is down")
		case "bug":
			return apphub.Principal{}, errors.New("a bug in the verifier")
		}
		return apphub.Principal{}, apphub.Errorf(apphub.EUNAUTHENTICATED, "not a token of ours")
	}
}

// closeStatus reads until the server closes the websocket, and returns its close code and when
// it came.
func (w *wsClient) closeStatus(within time.Duration) (coderws.StatusCode, time.Time) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		_, b, err := w.c.Read(ctx)
		if err != nil {
			at := time.Now()
			var ce coderws.CloseError
			if !errors.As(err, &ce) {
				w.t.Fatalf("the socket was not closed with a status within %v: %v", within, err)
			}
			return ce.Code, at
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if t := m["type"]; t != "ka" && t != "ping" && t != "pong" && t != "connection_error" {
			w.t.Fatalf("got %v while waiting for the close", m)
		}
	}
}

// errorOf reads the next message, which must be the failure of subscription id, and returns
// its extensions.code: graphql-transport-ws sends a result with errors (then complete),
// graphql-ws a data message with errors.
func (w *wsClient) errorOf(id string) string {
	w.t.Helper()
	m := w.read()
	if m["id"] != id {
		w.t.Fatalf("got %v, want a message of subscription %s", m, id)
	}
	var errs any
	switch m["type"] {
	case "next", "data":
		errs = get(m, "payload.errors")
	case "error":
		errs = get(m, "payload")
	default:
		w.t.Fatalf("got %v, want the subscription's error", m)
	}
	code, _ := get(errs, "0.extensions.code").(string)
	if code == "" {
		w.t.Fatalf("no coded error in %v", m)
	}
	return code
}

// A websocket names its caller in connection_init; a credential that does not verify closes it
// with 4401 before anything runs, on both subprotocols.
func TestWebsocketConnectionInit(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{Authenticate: tokenAuth(0, nil)})
	noAuth := newSubEnv(t) // Options.Authenticate unset
	a := e.bookAhead()
	anonymousURL, noAuthURL := e.url(apphub.Principal{}), noAuth.url(apphub.Principal{})
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				url     string
				payload map[string]any
				close   coderws.StatusCode
			}{
				{"bad token", anonymousURL, map[string]any{"Authorization": "Bearer forged"}, resolvers.CloseUnauthorized},
				{"bad token in token", anonymousURL, map[string]any{"token": "forged"}, resolvers.CloseUnauthorized},
				{"not a bearer credential", anonymousURL, map[string]any{"Authorization": "Basic Y3VzdDpwdw=="}, resolvers.CloseUnauthorized},
				{"a hub that cannot verify", noAuthURL, map[string]any{"Authorization": "Bearer customer-token"}, resolvers.CloseUnauthorized},
				{"cannot be checked now", anonymousURL, map[string]any{"Authorization": "Bearer down"}, 1013},
				{"the check fails", anonymousURL, map[string]any{"Authorization": "Bearer bug"}, coderws.StatusInternalError},
			} {
				t.Run(tc.name, func(t *testing.T) {
					w := openWS(t, tc.url, protocol, tc.payload)
					if code, _ := w.closeStatus(5 * time.Second); code != tc.close {
						t.Fatalf("closed with %d, want %d", code, tc.close)
					}
				})
			}
			for _, payload := range []map[string]any{
				{"Authorization": "Bearer customer-token"}, {"authorization": "bearer customer-token"}, {"token": "customer-token"},
			} {
				t.Run(fmt.Sprint(payload), func(t *testing.T) {
					w := openWS(t, anonymousURL, protocol, payload)
					if m := w.read(); m["type"] != "connection_ack" {
						t.Fatalf("got %v, want connection_ack", m)
					}
					w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
					if d := w.next(); get(d, "appointmentChanged.kind") != "CURRENT" {
						t.Fatalf("the customer's own appointment: %v", d)
					}
					w.c.Close(coderws.StatusNormalClosure, "")
				})
			}
			t.Run("no credential is anonymous", func(t *testing.T) {
				w := dialWS(t, anonymousURL, protocol)
				w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
				if code := w.errorOf("1"); code != apphub.EUNAUTHENTICATED {
					t.Fatalf("code %s", code)
				}
				w.c.Close(coderws.StatusNormalClosure, "")
			})
			t.Run("no credential keeps the upgrade request's caller", func(t *testing.T) {
				w := dialWS(t, e.url(customer), protocol)
				w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
				if d := w.next(); get(d, "appointmentChanged.kind") != "CURRENT" {
					t.Fatalf("the customer's own appointment: %v", d)
				}
				w.c.Close(coderws.StatusNormalClosure, "")
			})
		})
	}
}

// Anonymous subscriptions that booking allows work: live availability on a public hub.
func TestAnonymousAvailabilitySubscription(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{PublicAvailability: true}, resolvers.Options{Authenticate: tokenAuth(0, nil)})
	w := dialWS(t, e.url(apphub.Principal{}), "graphql-transport-ws")
	w.subscribe("1", `subscription { availabilityChanged(input: {category: "repair", place: "75011"}) { timeZone } }`, nil)
	if d := w.next(); get(d, "availabilityChanged.timeZone") != "Europe/Paris" {
		t.Fatalf("first grid: %v", d)
	}
	w.c.Close(coderws.StatusNormalClosure, "")
}

// A websocket closes with 4401 when its credential expires, not before; on both subprotocols.
func TestWebsocketClosesWhenTheCredentialExpires(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			issued := make(chan time.Time, 1)
			e := newSubEnvWith(t, booking.Options{}, resolvers.Options{Authenticate: tokenAuth(2*time.Second, issued)})
			a, err := e.svc.Book(ctxAs(customer), booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			w := openWS(t, e.url(apphub.Principal{}), protocol, map[string]any{"Authorization": "Bearer customer-token"})
			if m := w.read(); m["type"] != "connection_ack" {
				t.Fatalf("got %v, want connection_ack", m)
			}
			expires := <-issued
			w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
			if d := w.next(); get(d, "appointmentChanged.kind") != "CURRENT" {
				t.Fatalf("first: %v", d)
			}
			code, at := w.closeStatus(10 * time.Second)
			if code != resolvers.CloseUnauthorized {
				t.Fatalf("closed with %d, want %d", code, resolvers.CloseUnauthorized)
			}
			if at.Before(expires) || at.After(expires.Add(2*time.Second)) {
				t.Fatalf("closed at %s, the credential expired at %s", at.Format(time.StampMilli), expires.Format(time.StampMilli))
			}
		})
	}
}

// A credential that has already expired is refused at connection_init.
func TestWebsocketRefusesAnExpiredCredential(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{Authenticate: tokenAuth(-time.Second, nil)})
	w := openWS(t, e.url(apphub.Principal{}), "graphql-transport-ws", map[string]any{"Authorization": "Bearer customer-token"})
	if code, _ := w.closeStatus(5 * time.Second); code != resolvers.CloseUnauthorized {
		t.Fatalf("closed with %d, want %d", code, resolvers.CloseUnauthorized)
	}
}

// An SSE stream completes when the credential it was opened with expires.
func TestSSEEndsWhenTheCredentialExpires(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	a := e.bookAhead()
	p := customer
	p.Expires = time.Now().Add(2 * time.Second)
	body, _ := json.Marshal(map[string]any{"query": changeDoc, "variables": map[string]any{"id": a.ID}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url(p), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "event: ") || strings.HasPrefix(line, "data: ") {
			events = append(events, line)
		}
	}
	ended := time.Now()
	if ctx.Err() != nil {
		t.Fatalf("the stream did not end: %v", events)
	}
	if len(events) < 2 || !strings.Contains(strings.Join(events, "\n"), `"kind":"CURRENT"`) || events[len(events)-1] != "event: complete" {
		t.Fatalf("events %q, want the current state then complete", events)
	}
	if ended.Before(p.Expires) {
		t.Fatalf("ended at %s, before the credential's expiry at %s", ended.Format(time.StampMilli), p.Expires.Format(time.StampMilli))
	}
}

// forbiddingService refuses one appointment with FORBIDDEN, which booking never does for a
// read: it stands for a subscription a role may not make.
type forbiddingService struct{ resolvers.Service }

func (s forbiddingService) Appointment(ctx context.Context, id string) (apphub.Appointment, error) {
	if id == "forbidden" {
		return apphub.Appointment{}, apphub.Errorf(apphub.EFORBIDDEN, "not for this role")
	}
	return s.Service.Appointment(ctx, id)
}

// A subscription refused with FORBIDDEN fails alone, with its code: gqlgen ends the operation,
// not the connection, whose other subscriptions go on.
func TestForbiddenSubscriptionFailsAlone(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	e.h = resolvers.NewHandler(&resolvers.Resolver{Service: forbiddingService{e.svc}, Events: e.bus}, slog.New(slog.DiscardHandler), resolvers.Options{})
	a := e.bookAhead()
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			w := dialWS(t, e.url(customer), protocol)
			w.subscribe("1", changeDoc, map[string]any{"id": "forbidden"})
			if code := w.errorOf("1"); code != apphub.EFORBIDDEN {
				t.Fatalf("code %s", code)
			}
			w.subscribe("2", changeDoc, map[string]any{"id": a.ID})
			for {
				m := w.read()
				if m["type"] == "complete" && m["id"] == "1" {
					continue
				}
				if m["id"] != "2" || get(m, "payload.data.appointmentChanged.kind") != "CURRENT" {
					t.Fatalf("the next subscription got %v", m)
				}
				break
			}
			w.c.Close(coderws.StatusNormalClosure, "")
		})
	}
}

// A subscription by party or resource carries only the events of appointments booking lets
// the subscriber read.
func TestSubscriptionsCarryOnlyWhatTheCallerMayRead(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	own, err := e.svc.Book(ctxAs(customer), booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	byParty := `subscription($p: String) { appointmentChanged(partyId: $p) { kind appointment { id partyId } } }`
	spy := dialWS(t, e.url(customer), "graphql-transport-ws")
	spy.subscribe("theirs", byParty, map[string]any{"p": other.PartyID})
	spy.subscribe("mine", changeDoc, map[string]any{"id": own.ID})
	if d := spy.next(); get(d, "appointmentChanged.kind") != "CURRENT" {
		t.Fatalf("own: %v", d)
	}
	ops := dialWS(t, e.url(admin), "graphql-transport-ws")
	ops.subscribe("theirs", byParty, map[string]any{"p": other.PartyID})

	theirs, err := e.svc.Book(ctxAs(other), booking.NewAppointment{Start: now.Add(72 * time.Hour), End: now.Add(73 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The admin sees it, so the event did go by.
	if d := ops.next(); get(d, "appointmentChanged.appointment.id") != theirs.ID {
		t.Fatalf("admin: %v", d)
	}
	// The customer's next message is about its own appointment, changed after theirs.
	desc := "after theirs"
	if _, err := e.svc.Update(ctxAs(customer), booking.Update{ID: own.ID, Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if m := spy.read(); m["id"] != "mine" {
		t.Fatalf("the customer got %v", m)
	}
	// And nothing else comes.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	for {
		_, b, err := spy.c.Read(ctx)
		if err != nil {
			break
		}
		if !strings.Contains(string(b), `"type":"ping"`) && !strings.Contains(string(b), `"type":"pong"`) {
			t.Fatalf("the customer got %s", b)
		}
	}
}
