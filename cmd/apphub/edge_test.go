package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxy trusted: the header is ignored", "127.0.0.1:5000", []string{"203.0.113.9"}, nil, "127.0.0.1"},
		{"an untrusted peer's header is ignored", "198.51.100.7:5000", []string{"203.0.113.9"}, trusted, "198.51.100.7"},
		{"a trusted proxy names the client", "10.1.2.3:5000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"the right-most untrusted hop, not what the client wrote", "10.1.2.3:5000", []string{"1.2.3.4, 203.0.113.9, 10.9.9.9"}, trusted, "203.0.113.9"},
		{"several header lines are one list", "10.1.2.3:5000", []string{"1.2.3.4", "203.0.113.9"}, trusted, "203.0.113.9"},
		{"only trusted hops: the left-most", "127.0.0.1:5000", []string{"10.0.0.2, 10.0.0.3"}, trusted, "10.0.0.2"},
		{"a malformed hop stops the walk at the last vouched address", "10.1.2.3:5000", []string{"1.2.3.4, junk"}, trusted, "10.1.2.3"},
		{"no header behind a proxy: the proxy", "10.1.2.3:5000", nil, trusted, "10.1.2.3"},
		{"IPv4-mapped peers are IPv4", "[::ffff:127.0.0.1]:5000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"IPv6 clients", "10.1.2.3:5000", []string{"2001:db8::1"}, trusted, "2001:db8::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, tc.trusted); got.String() != tc.want {
				t.Errorf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := parseCIDRs("--trusted-proxies", []string{"10.0.0.0/8", "192.0.2.1", "::1", "proxy.example"}); err == nil ||
		!strings.Contains(err.Error(), `"proxy.example"`) {
		t.Errorf("parseCIDRs accepted a host name: %v", err)
	}
}

// send makes a request with the given headers (name, value pairs) and returns the response,
// its body read.
func send(t *testing.T, method, url, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The API's answers are not sniffed and, carrying personal data, not cached; browsers on the
// channel origins may call the APIs, others get no CORS header; /metrics and the profiler
// answer on the admin listener only; unknown methods do not make metric series.
func TestEdgeHeadersCORSAndAdmin(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--allowed-origins", "https://app.example.com,http://localhost:5173")
	token := h.token(t, adminParty, apphub.RoleAdmin)

	for _, u := range []string{h.url + "/graphql?query=%7Bhub%7Bversion%7D%7D", h.url + "/tmf-api/appointment/v4/appointment"} {
		resp, _ := send(t, "GET", u, "", "Authorization", "Bearer "+token)
		if resp.StatusCode != 200 || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, nosniff %q, Cache-Control %q", u, resp.StatusCode, resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := send(t, "GET", h.url+"/healthz", ""); resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/healthz without nosniff")
	}

	for _, tc := range []struct {
		origin, path string
		allowed      bool
	}{
		{"https://app.example.com", "/graphql", true},
		{"http://localhost:5173", "/tmf-api/appointment/v4/appointment", true},
		{"https://evil.example", "/graphql", false},
		{"http://app.example.com", "/graphql", false}, // another scheme is another origin
		{"https://app.example.com", "/healthz", false},
	} {
		// The preflight a browser sends before a POST with a bearer token.
		resp, _ := send(t, "OPTIONS", h.url+tc.path, "", "Origin", tc.origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization, content-type")
		acao := resp.Header.Get("Access-Control-Allow-Origin")
		if tc.allowed && (resp.StatusCode/100 != 2 || acao != tc.origin ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization")) {
			t.Errorf("preflight %s from %s: %d %q %q", tc.path, tc.origin, resp.StatusCode, acao, resp.Header.Get("Access-Control-Allow-Headers"))
		}
		if !tc.allowed && acao != "" {
			t.Errorf("preflight %s from %s allowed: %q", tc.path, tc.origin, acao)
		}
		// The actual request: readable by the page only with the header.
		resp, _ = send(t, "POST", h.url+"/graphql", `{"query":"{ hub { version } }"}`, "Origin", tc.origin, "Content-Type", "application/json")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); (got == tc.origin) != (tc.allowed && tc.path != "/healthz") && tc.path == "/graphql" {
			t.Errorf("POST /graphql from %s: Access-Control-Allow-Origin %q", tc.origin, got)
		}
	}
	// A 401 is readable by the channel app too, so that it can sign in again.
	resp, _ := send(t, "GET", h.url+"/tmf-api/appointment/v4/appointment", "", "Origin", "https://app.example.com", "Authorization", "Bearer nope")
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("401 from a channel origin: %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	for _, m := range []string{"ANYTHING", "BREW", "PROPFIND"} {
		send(t, m, h.url+"/graphql", "")
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if resp, _ := send(t, "GET", h.url+path, ""); resp.StatusCode != 404 {
			t.Errorf("%s on the API listener: %d", path, resp.StatusCode)
		}
		if resp, _ := send(t, "GET", h.admin+path, ""); resp.StatusCode != 200 {
			t.Errorf("%s on the admin listener: %d", path, resp.StatusCode)
		}
	}
	_, metrics := send(t, "GET", h.admin+"/metrics", "")
	if !bytes.Contains(metrics, []byte(`method="OTHER"`)) || bytes.Contains(metrics, []byte("ANYTHING")) || bytes.Contains(metrics, []byte("BREW")) {
		t.Errorf("unknown methods are not labelled OTHER:\n%s", grepLines(metrics, "apphub_http_requests_total"))
	}
}

func grepLines(b []byte, substr string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Clients that send their request a byte at a time are cut off at the read timeout, however
// many of them there are; a subscription lasts beyond it.
func TestSlowBodiesAreCutOff(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--read-timeout", "1s")
	host := strings.TrimPrefix(h.url, "http://")
	const clients = 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			path := "/graphql"
			if i%2 == 1 {
				path = "/tmf-api/appointment/v4/appointment"
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path, host)
			// A byte every 200ms: 1,000 bytes would take 200 s. The hub must give up long
			// before; 10 s leaves room for a loaded machine.
			cut := make(chan struct{})
			go func() {
				for {
					select {
					case <-cut:
						return
					case <-time.After(200 * time.Millisecond):
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			defer close(cut)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.ReadAll(conn) // the hub's answer, if any, then the end of the connection
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				errs <- fmt.Errorf("client %d: still connected after 10 s", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A stream is not a slow request: an event stream stays open past the read timeout.
	req, _ := http.NewRequest("POST", h.url+"/graphql", strings.NewReader(`{"query":"subscription { appointmentChanged(partyId: \"acme\") { kind } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token(t, "acme", apphub.RoleCustomer))
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Fatalf("the event stream ended before 2.5 s (read timeout 1 s): %s %v", resp.Status, err)
	case <-time.After(2500 * time.Millisecond):
	}
}

// Every caller has a budget of searches and one of changes, per principal (per address when
// anonymous, read from X-Forwarded-For only behind a trusted proxy), shared by every instance.
// A spent budget answers 429 with Retry-After in each API's error format, and the refused
// request changes nothing.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	env := sharedStores(t)
	args := []string{"--rate-write", "3/m:3", "--rate-search", "4/m:4", "--trusted-proxies", "127.0.0.1/32"}
	a := startHub(t, env, nil, args...)
	b := startHub(t, env, nil, args...)
	partner := a.token(t, "acme", apphub.RolePartner)
	other := a.token(t, "globex", apphub.RolePartner)
	admin := a.token(t, adminParty, apphub.RoleAdmin)
	tmfBase := "/tmf-api/appointment/v4/"

	// Writes: three on two instances, then none.
	for i, h := range []*testHub{a, b, a} {
		if status, body := tmf(t, partner, "DELETE", h.url+tmfBase+"hub/nothing-"+strconv.Itoa(i), "application/json", ""); status != 404 {
			t.Fatalf("write %d: %d %v", i, status, body)
		}
	}
	resp, raw := send(t, "POST", b.url+tmfBase+"hub", `{"callback": "https://listener.example.com/cb"}`,
		"Authorization", "Bearer "+partner, "Content-Type", "application/json")
	if resp.StatusCode != 429 || !strings.Contains(string(raw), `"code":"RATE_LIMITED"`) || !strings.Contains(string(raw), `"@type":"Error"`) {
		t.Fatalf("fourth write: %d %s", resp.StatusCode, raw)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	_, codes := gqlAnswer(t, a.url, partner, `mutation { cancelAppointment(input: {id: "x", reason: "y"}) { error { __typename } } }`, nil)
	if len(codes) != 1 || codes[0] != apphub.ERATELIMITED {
		t.Errorf("GraphQL mutation after the budget: codes %v", codes)
	}
	// Nothing was registered; searches have their own budget, other partners theirs.
	if status, body := tmf(t, admin, "GET", a.url+tmfBase+"hub", "", ""); status == 200 {
		if items, _ := body["items"].([]any); len(items) != 0 {
			t.Errorf("a refused registration was stored: %v", body)
		}
	}
	if status, _ := tmf(t, partner, "GET", a.url+tmfBase+"appointment", "", ""); status != 200 {
		t.Errorf("a search after the write budget: %d", status)
	}
	if status, _ := tmf(t, other, "DELETE", a.url+tmfBase+"hub/nothing", "", ""); status != 404 {
		t.Errorf("another partner's write: %d", status)
	}

	// Anonymous callers spend their address's budget: behind the trusted proxy (loopback
	// here), the address X-Forwarded-For names.
	search := func(h *testHub, xff string) int {
		resp, _ := send(t, "POST", h.url+"/graphql", `{"query":"{ hub { version } }"}`, "Content-Type", "application/json", "X-Forwarded-For", xff)
		return resp.StatusCode
	}
	for i := range 4 {
		if got := search([]*testHub{a, b}[i%2], "203.0.113.1"); got != 200 {
			t.Fatalf("anonymous search %d: %d", i, got)
		}
	}
	if got := search(a, "203.0.113.1"); got != 429 {
		t.Errorf("fifth anonymous search from one address: %d", got)
	}
	if got := search(b, "203.0.113.2"); got != 200 {
		t.Errorf("another address: %d", got)
	}

	// Without a trusted proxy the header is the client's word, and ignored.
	c := startHub(t, nil, nil, "--rate-search", "2/m:2")
	for i, xff := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		if got, want := search(c, xff), map[bool]int{true: 200, false: 429}[i < 2]; got != want {
			t.Errorf("untrusted X-Forwarded-For %s: %d, want %d", xff, got, want)
		}
	}
}
