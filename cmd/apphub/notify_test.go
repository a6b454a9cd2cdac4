package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
