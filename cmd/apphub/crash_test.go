package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// A hub killed right after a change's commit point — its revision is in MongoDB, its
// projection and its events are not — loses nothing: the appointment is listed at once with
// its committed version, a subscriber on another hub gets the change without any further
// change, a registered listener receives the event, and the restarted hub lists it too.
func TestCrashAfterCommitLosesNothing(t *testing.T) {
	t.Parallel()
	env := sharedStores(t)
	env["APPHUB_NOTIFY_ALLOW"] = "127.0.0.1/32" // the listener is on loopback
	b := startHub(t, env, nil)
	// Every hub here shares the data directory, hence the key: one token works on all.
	customer := b.token(t, "crash-1", apphub.RoleCustomer)

	// An operator's registration: it receives every appointment's events.
	l := &listener{seen: map[string]bool{}}
	partner := httptest.NewServer(l)
	defer partner.Close()
	if code, out := tmf(t, b.token(t, adminParty, apphub.RoleAdmin), "POST", b.url+"/tmf-api/appointment/v4/hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL)); code != 201 {
		t.Fatalf("hub registration: %d %v", code, out)
	}

	_, read := subscribeWS(t, b.url, customer, `subscription { appointmentChanged(partyId: "crash-1") { kind version appointment { id status } } }`)

	// Hub A, a real process on the same stores, dies at its first commit.
	dir := env["APPHUB_DATA_DIR"]
	a := startProcessEnv(t, []string{"APPHUB_TEST_FAILPOINT=after-commit"}, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir,
		"--mongodb-uri", env["MONGODB_URI"], "--mongodb-database", env["APPHUB_MONGODB_DATABASE"],
		"--redis-url", env["REDIS_URL"], "--redis-prefix", env["APPHUB_REDIS_PREFIX"])
	if a.url == "" {
		t.Fatalf("hub A did not start:\n%s", a.logs.String())
	}
	req, _ := http.NewRequest("POST", a.url+"/tmf-api/appointment/v4/appointment", strings.NewReader(
		`{"validFor":{"startDateTime":"2026-03-02T09:00:00Z","endDateTime":"2026-03-02T10:00:00Z"},"description":"cut off"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+customer)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("hub A answered %d: the failpoint did not stop it", resp.StatusCode)
	}
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatal("hub A is still running")
	}

	// Listed at once, on the surviving hub, with its committed version.
	list := func(base string) map[string]any {
		d := gql(t, base, customer, `{ appointments(filter: {partyId: "crash-1"}) { edges { node { id version description } } } }`, nil)
		edges := dig(d, "appointments", "edges").([]any)
		if len(edges) != 1 || dig(edges[0], "node", "version") != float64(1) || dig(edges[0], "node", "description") != "cut off" {
			t.Fatalf("appointments of crash-1: %v", d)
		}
		return edges[0].(map[string]any)
	}
	id := dig(list(b.url), "node", "id").(string)

	// The subscriber first gets the state at its subscription (nothing yet), then the change,
	// relayed by hub B from the revision A left behind.
	for {
		m := read()
		if m["type"] != "next" {
			t.Fatalf("subscription: %v", m)
		}
		if dig(m, "payload", "data", "appointmentChanged", "kind") == "CURRENT" {
			continue
		}
		if dig(m, "payload", "data", "appointmentChanged", "appointment", "id") != id || dig(m, "payload", "data", "appointmentChanged", "version") != float64(1) {
			t.Fatalf("subscription: %v, want version 1 of %s", m, id)
		}
		break
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(l.events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := l.events(); fmt.Sprint(got) != "[appointmentCreateEvent:initialized]" {
		t.Fatalf("the listener received %v", got)
	}

	// A restarted hub lists it too.
	a2 := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir,
		"--mongodb-uri", env["MONGODB_URI"], "--mongodb-database", env["APPHUB_MONGODB_DATABASE"],
		"--redis-url", env["REDIS_URL"], "--redis-prefix", env["APPHUB_REDIS_PREFIX"])
	if a2.url == "" {
		t.Fatalf("hub A did not restart:\n%s", a2.logs.String())
	}
	list(a2.url)
}
