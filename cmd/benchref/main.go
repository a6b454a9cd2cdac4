// Command benchref is the reference server for load tests: bare net/http and one handler that
// reads a precomputed answer of a given size from Redis (one GET) and writes it. What a hub
// endpoint costs beyond this is the hub's own work.
//
//	benchref -addr :8090 -size 4096                 # embedded Redis (miniredis), as apphub
//	benchref -redis-url redis://127.0.0.1:6379      # a real Redis
//	loadgen -c 64 -d 30s http://127.0.0.1:8090/
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/apphub/apphub/storage/rediscache"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchref:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("benchref", flag.ContinueOnError)
	addr := fs.String("addr", ":8090", "listen address")
	redisURL := fs.String("redis-url", os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL); empty starts an embedded Redis (miniredis)")
	size := fs.Int("size", 4096, "size of the answer in bytes")
	key := fs.String("key", "benchref:answer", "Redis key of the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	url := *redisURL
	if url == "" {
		e, err := rediscache.StartEmbedded("127.0.0.1:0", time.Second)
		if err != nil {
			return err
		}
		defer e.Close()
		url = e.URL()
	}
	c, err := rediscache.Connect(url, rediscache.ConnectOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	// The bare go-redis client: what the hub adds on top of it is what a load run measures.
	rdb := c.Raw()
	if err := rdb.Set(ctx, *key, answer(*size), 0).Err(); err != nil {
		return fmt.Errorf("store the answer in Redis at %s: %w", url, err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(c, *key), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("benchref serving", "url", "http://"+ln.Addr().String()+"/", "redis", url, "size", *size)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// answer is a JSON document of exactly size bytes (at least the braces).
func answer(size int) []byte {
	const head, tail = `{"data":"`, `"}`
	fill := max(size-len(head)-len(tail), 0)
	return []byte(head + string(bytes.Repeat([]byte("x"), fill)) + tail)
}

// handler answers every request (any method; a body is read and dropped) with the answer read
// from Redis by one GET on the bare go-redis client.
func handler(c *rediscache.Client, key string) http.Handler {
	rdb := c.Raw()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		b, err := rdb.Get(r.Context(), key).Bytes()
		if err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
}
