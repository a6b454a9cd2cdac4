package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/notify"
)

// listener is a partner's TMF646 listener on loopback that refuses its first deliveries.
type listener struct {
	mu       sync.Mutex
	failures int
	got      []string // eventType@version, in arrival order, delivered (201) ones only
	seen     map[string]bool
	badSig   int
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures > 0 {
		l.failures--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if !notify.Verify([]byte("s3cret"), body, r.Header.Get("X-Hub-Signature-256")) {
		l.badSig++
	}
	var env struct {
		EventID   string
		EventType string
		Event     struct {
			Appointment struct {
				ID     string
				Status string
			}
		}
	}
	json.Unmarshal(body, &env)
	if !l.seen[env.EventID] {
		l.seen[env.EventID] = true
		name := strings.TrimPrefix(r.URL.Path, "/listener/")
		l.got = append(l.got, name+":"+env.Event.Appointment.Status)
	}
	w.WriteHeader(http.StatusCreated)
}

func (l *listener) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// tmf sends a TMF646 request with the bearer token and returns its status and decoded body.
func tmf(t *testing.T, token, method, url, contentType, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// A partner registered on the hub receives every event of create → confirm → reschedule →
// cancel of the appointment it made, in order and signed, although its listener fails its
// first two deliveries, the hub that served the first requests is restarted in the middle, and
// a second hub runs beside it. The partner calls every hub with one token: they share their
// data directory, hence their key.
func TestNotificationsReachAFlakyListener(t *testing.T) {
	t.Parallel()
	env := sharedStores(t)
	env["APPHUB_NOTIFY_SECRET"] = "s3cret"
	env["APPHUB_NOTIFY_ALLOW"] = "127.0.0.1/32" // the partner's listener is on loopback
	a := startHub(t, env, nil)
	b := startHub(t, env, nil)
	if err := loadDemo(context.Background(), a.hub.svc, a.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	l := &listener{failures: 2, seen: map[string]bool{}}
	partner := httptest.NewServer(l)
	defer partner.Close()

	acme := a.token(t, "acme", apphub.RolePartner)
	api := a.url + "/tmf-api/appointment/v4/"
	if code, _ := tmf(t, acme, "POST", api+"hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL)); code != 201 {
		t.Fatalf("hub registration: %d", code)
	}
	start, tech, _ := firstSlot(t, a)
	s, _ := time.Parse(time.RFC3339, start)
	body := fmt.Sprintf(`{"category":"repair","validFor":{"startDateTime":%q,"endDateTime":%q},
		"relatedParty":[{"id":%q,"role":"technician","@referredType":"PartyRole"}],
		"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}}`, start, s.Add(time.Hour).Format(time.RFC3339), tech)
	code, appt := tmf(t, acme, "POST", api+"appointment", "application/json", body)
	if code != 201 {
		t.Fatalf("booking: %d %v", code, appt)
	}
	id := appt["id"].(string)
	merge := "application/merge-patch+json"
	if code, out := tmf(t, acme, "PATCH", api+"appointment/"+id, merge, `{"status":"confirmed"}`); code != 200 {
		t.Fatalf("confirm: %d %v", code, out)
	}

	// Hub A restarts; the rest of the sequence goes through its successor and hub B.
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	a2 := startHub(t, env, nil)
	d := gql(t, a2.url, acme, `query($r: ID!, $from: Time!, $to: Time!) { availability(input: {category: "repair", resource: $r, from: $from, to: $to}) {
		days { slots { start } } } }`, map[string]any{"r": tech, "from": s.Add(2 * time.Hour).Format(time.RFC3339), "to": s.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	later, _ := time.Parse(time.RFC3339, dig(d, "availability", "days", 0, "slots", 0, "start").(string))
	api2 := a2.url + "/tmf-api/appointment/v4/"
	if code, out := tmf(t, acme, "PATCH", api2+"appointment/"+id, merge, fmt.Sprintf(`{"validFor":{"startDateTime":%q,"endDateTime":%q}}`,
		later.Format(time.RFC3339), later.Add(time.Hour).Format(time.RFC3339))); code != 200 {
		t.Fatalf("reschedule: %d %v", code, out)
	}
	if code, out := tmf(t, acme, "PATCH", b.url+"/tmf-api/appointment/v4/appointment/"+id, merge, `{"status":"cancelled"}`); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}

	want := []string{"appointmentCreateEvent:initialized", "appointmentStateChangeEvent:confirmed",
		"appointmentAttributeValueChangeEvent:confirmed", "appointmentStateChangeEvent:cancelled"}
	deadline := time.Now().Add(60 * time.Second)
	for len(l.events()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := l.events(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the listener received %v, want %v", got, want)
	}
	if l.badSig > 0 {
		t.Fatalf("%d deliveries with a bad signature", l.badSig)
	}
}

// Without --notify-allow, a listener on loopback (the hub's own network) cannot be
// registered, nor can the hub itself: 400, nothing stored. With 127.0.0.1/32 allowed, it can.
func TestRegistrationOfLoopbackCallbacks(t *testing.T) {
	t.Parallel()
	env := sharedStores(t)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the listener received %s %s", r.Method, r.URL)
	}))
	defer partner.Close()
	closed := startHub(t, env, nil)
	admin := closed.token(t, adminParty, apphub.RoleAdmin)
	_, port, _ := net.SplitHostPort(partner.Listener.Addr().String())
	for _, cb := range []string{partner.URL, closed.url, "http://localhost:" + port, "http://169.254.169.254/"} {
		code, out := tmf(t, admin, "POST", closed.url+"/tmf-api/appointment/v4/hub", "application/json", fmt.Sprintf(`{"callback":%q}`, cb))
		if msg, _ := out["message"].(string); code != http.StatusBadRequest || out["code"] != apphub.EINVALID || !strings.HasPrefix(msg, "callback: ") {
			t.Errorf("registration of %s: %d %v, want 400 VALIDATION on callback", cb, code, out)
		}
	}
	if subs, err := closed.hub.svc.Subscriptions(context.Background()); err != nil || len(subs) != 0 {
		t.Fatalf("refused registrations stored: %v, %v", subs, err)
	}

	env["APPHUB_NOTIFY_ALLOW"] = "127.0.0.1/32"
	open := startHub(t, env, nil)
	if code, out := tmf(t, admin, "POST", open.url+"/tmf-api/appointment/v4/hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL)); code != http.StatusCreated {
		t.Fatalf("registration with 127.0.0.1/32 allowed: %d %v", code, out)
	}
	if code, out := tmf(t, admin, "POST", open.url+"/tmf-api/appointment/v4/hub", "application/json", `{"callback":"http://[::1]:9/"}`); code != http.StatusBadRequest {
		t.Errorf("registration of [::1] with only 127.0.0.1/32 allowed: %d %v", code, out)
	}
}

// An --notify-allow entry that is not a CIDR prefix stops the hub with a message naming it.
func TestNotifyAllowInvalidEntryStopsTheHub(t *testing.T) {
	t.Parallel()
	env := sharedStores(t)
	for entry, hint := range map[string]string{
		"10.20.1.0/16":          "10.20.0.0/16",
		"hooks.partner.example": "host names are not accepted",
		"127.0.0.1":             "127.0.0.1/32",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--notify-allow", "127.0.0.1/32, " + entry}, envFunc(env), io.Discard, io.Discard, testHooks())
		cancel()
		if err == nil || !strings.Contains(err.Error(), "--notify-allow") || !strings.Contains(err.Error(), entry) || !strings.Contains(err.Error(), hint) {
			t.Errorf("--notify-allow %q: %v, want an error naming the flag, the entry and %q", entry, err, hint)
		}
	}
}
