package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadgenSmoke(t *testing.T) {
	var gets, posts, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fail":
			bad.Add(1)
			http.Error(w, "no", http.StatusServiceUnavailable)
		case r.Method == http.MethodPost:
			if b, _ := io.ReadAll(r.Body); string(b) != `{"q":1}` || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			posts.Add(1)
		default:
			gets.Add(1)
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	// Closed loop, two URLs, one of them failing; this test process's own RSS.
	rep, err := run(context.Background(), config{URLs: []string{srv.URL + "/", srv.URL + "/fail"}, Conns: 4,
		Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || int64(rep.Requests) != gets.Load()+bad.Load() || int64(rep.Errors) != bad.Load() || rep.ErrorsBy["HTTP 503"] != rep.Errors {
		t.Fatalf("closed loop: %+v; server saw %d GET, %d failed", rep, gets.Load(), bad.Load())
	}
	if !(rep.P50 > 0 && rep.P50 <= rep.P90 && rep.P90 <= rep.P99 && rep.P99 <= rep.Max) || rep.RSSMax <= 0 {
		t.Fatalf("closed loop report: %+v", rep)
	}
	t.Log("\n" + rep.String())

	// Open loop: 200 req/s for half a second, POST with a body.
	rep, err = run(context.Background(), config{URLs: []string{srv.URL}, Method: http.MethodPost, Body: []byte(`{"q":1}`),
		Header: http.Header{"Content-Type": {"application/json"}}, Conns: 8, Rate: 200, Duration: 500 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 100 || rep.Errors != 0 || posts.Load() != 100 {
		t.Fatalf("open loop: %+v; server saw %d POST", rep, posts.Load())
	}
	if r := rep.Rate(); r < 150 || r > 250 {
		t.Fatalf("open loop rate %.1f, want about 200", r)
	}
	t.Log("\n" + rep.String())
}
