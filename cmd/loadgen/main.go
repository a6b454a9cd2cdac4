// Command loadgen sends HTTP load to one or more URLs and prints latency percentiles,
// throughput and errors, and optionally the resident memory of a server process.
//
// Closed loop (each of -c connections sends its next request when the last one answered):
//
//	loadgen -c 64 -d 30s http://127.0.0.1:8080/graphql
//
// Open loop at a fixed rate (latency counts from the scheduled send time, so a stalling server
// is charged for the requests that queued behind the stall; -c bounds the requests in flight):
//
//	loadgen -rate 2000 -c 256 -d 30s -pid $(pgrep -n apphub) URL1 URL2
//
// POST with a body: -method POST -body '{"query":"{ hub { version } }"}' (or -body-file) and
// -H 'Content-Type: application/json'. URLs are used in turn.
//
// Many distinct bodies, one JSON body a line, each request drawing one at random (-seed), or
// with -sequential N one at a time, N distinct bodies each once (the first answers of a server
// that has computed nothing yet); the report counts the distinct bodies sent:
//
//	loadgen bodies -mix availability >mix.txt
//	loadgen -c 8 -d 30s -bodies-file mix.txt -H 'Content-Type: application/json' -method POST URL
//	loadgen -sequential 300 -bodies-file mix.txt -H 'Content-Type: application/json' -method POST URL
//
// Subcommands: bodies writes a mix of GraphQL documents (mix.go); book books slots at a pace
// (book.go); subs holds GraphQL subscriptions open and measures how fast changes reach them
// (subs.go); race makes partners race over TMF646 for the same slots (race.go). Each has -help.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := mainErr(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }
func (f *headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q is not Name: value", v)
	}
	f.h.Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func mainErr(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "bodies":
			return bodiesMain(args[1:])
		case "book":
			return bookMain(ctx, args[1:])
		case "subs":
			return subsMain(ctx, args[1:])
		case "race":
			return raceMain(ctx, args[1:])
		}
	}
	return loadMain(ctx, args)
}

func loadMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadgen [flags] URL...")
		fs.PrintDefaults()
	}
	cfg := config{Header: http.Header{}}
	fs.IntVar(&cfg.Conns, "c", 16, "connections (closed loop) or most requests in flight (open loop)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per second; > 0 runs an open loop")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "duration")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per request")
	fs.StringVar(&cfg.Method, "method", http.MethodGet, "HTTP method")
	body := fs.String("body", "", "request body")
	bodyFile := fs.String("body-file", "", "file holding the request body")
	bodiesFile := fs.String("bodies-file", "", "file of request bodies, one a line; each request draws one at random")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the draws from -bodies-file")
	fs.IntVar(&cfg.Sequential, "sequential", 0, "send this many requests one at a time, each with another body of -bodies-file (ignores -c, -rate, -d)")
	fs.Var(&headerFlag{cfg.Header}, "H", "request header `Name: value` (repeatable)")
	fs.IntVar(&cfg.PID, "pid", 0, "sample the resident memory (VmRSS) of this process")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.URLs = fs.Args()
	if len(cfg.URLs) == 0 {
		fs.Usage()
		return fmt.Errorf("no URL")
	}
	switch {
	case *bodiesFile != "":
		b, err := readLines(*bodiesFile)
		if err != nil {
			return err
		}
		cfg.Bodies = b
	case *bodyFile != "":
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		cfg.Body = b
	case *body != "":
		cfg.Body = []byte(*body)
	}
	rep, err := run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			report
			RequestsPerSecond float64
		}{rep, rep.Rate()})
	}
	fmt.Print(rep)
	return nil
}

// readLines returns the non-empty lines of a file.
func readLines(name string) ([][]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for line := range bytes.Lines(b) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no bodies", name)
	}
	return out, nil
}
