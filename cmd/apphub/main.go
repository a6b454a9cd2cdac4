// Command apphub runs the appointment hub.
//
//	apphub [serve] [flags]                run the hub (the default)
//	apphub seed [flags]                   prepare the database and exit
//	apphub token [flags]                  print a token signed by the local key of a data directory
//	apphub apikey create|revoke|list ...  manage API keys through a running hub
//
// With no configuration it starts on an embedded FerretDB and an embedded Redis, so one
// command gives a working hub. `apphub --help` lists every flag and environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	_ "time/tzdata" // time zones must not depend on the host

	"github.com/apphub/apphub/storage/rediscache"
)

var subcommands = map[string]string{
	"serve":  "Runs the hub: GraphQL at /graphql, TMF646 at /tmf-api/appointment/v4/, /healthz, /readyz; /metrics and /debug/pprof/ on --admin-addr.",
	"seed":   "Prepares the hub's database (its identity record) and exits.",
	"token":  "Prints a bearer token signed by the local key of --data-dir, which a hub in local-key mode (no --oidc-issuer) on that directory accepts.",
	"apikey": "Creates, revokes or lists API keys through a running hub's GraphQL API, as an admin (--token).",
	"store":  "Runs the MongoDB-wire store that several hubs share: FerretDB on a PostgreSQL database (one store per database).",
}

func main() { os.Exit(runMain(hooks{})) }

// runMain runs the program with its process-wide settings and returns its exit code.
func runMain(h hooks) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, h); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "apphub:", err)
		return 1
	}
	return 0
}

// run is the whole program; ctx ends on SIGINT/SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, h hooks) error {
	name := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "serve", "seed":
			name, args = args[0], args[1:]
		case "token":
			// token and apikey open no store and start nothing: they take their own flags.
			return tokenCommand(args[1:], getenv, stdout, stderr, h)
		case "apikey":
			return apikeyCommand(ctx, args[1:], getenv, stdout, stderr)
		case "store":
			return storeCommand(ctx, args[1:], getenv, stderr)
		case "version", "-version", "--version":
			fmt.Fprintln(stdout, readBuild())
			return nil
		case "help", "-h", "-help", "--help":
			fmt.Fprintf(stderr, "Usage: apphub [serve|seed|token|apikey|store|version] [flags]\n\n  serve   %s\n  seed    %s\n  token   %s\n  apikey  %s\n  store   %s\n  version Prints the version, the VCS revision and the Go release of the binary (also --version).\n\n"+
				"Run 'apphub <subcommand> --help' for its flags.\n",
				subcommands["serve"], subcommands["seed"], subcommands["token"], subcommands["apikey"], subcommands["store"])
			return flag.ErrHelp
		default:
			if len(args[0]) > 0 && args[0][0] != '-' {
				return fmt.Errorf("unknown subcommand %q (want serve, seed, token, apikey or store)", args[0])
			}
		}
	}
	var cfg config
	fs, err := newFlagSet(name, &cfg, getenv, stderr)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg.hooks = h
	logger := newLogger(stderr, cfg.logFormat, cfg.logLevel)
	rediscache.SetLogger(logger)
	gc := decideGC(cfg.memoryLimit, os.Getenv, os.ReadFile)
	gc.apply()
	logger.Info("memory", "limit", formatBytes(gc.memoryLimit), "limitFrom", gc.limitFrom, "GOGC", gc.gogc())
	if name == "seed" {
		return seed(ctx, cfg, logger, stdout)
	}
	return serve(ctx, cfg, logger, stderr)
}

// The collector's settings. The embedded FerretDB allocates about 35 KB for every document it
// reads, so with Go's default GOGC of 100 the collector runs all through a cold search's scan
// (a third slower); GOGC=400 lets the heap grow to five times what is live before collecting.
// Unbounded, that is what made a hub keeping thousands of answers reach 1 GB. So the rule:
// GOGC=400 only together with a memory limit, which the runtime keeps the heap under by
// collecting sooner as it nears it; without a limit, Go's default. GOGC and GOMEMLIMIT in the
// environment are the runtime's own settings and win: the hub changes neither then.

// memoryLimit is --memory-limit: a number of bytes, 0 for none, or not given (then 75% of the
// cgroup's memory limit, see decideGC).
type memoryLimit struct {
	bytes int64
	given bool
}

func (m *memoryLimit) String() string {
	if m == nil || !m.given {
		return ""
	}
	return formatBytes(m.bytes)
}

func (m *memoryLimit) Set(v string) error {
	n, err := parseBytes(v)
	if err != nil {
		return err
	}
	*m = memoryLimit{bytes: n, given: true}
	return nil
}

// parseBytes reads a number of bytes as GOMEMLIMIT writes it: a whole number with an optional
// unit B, KiB, MiB, GiB or TiB; 0 and "off" are none (0).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "off" {
		return 0, nil
	}
	digits := strings.TrimRight(v, "BKMGTi")
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	unit, known := shift[v[len(digits):]]
	n, err := strconv.ParseInt(digits, 10, 64)
	if !known || err != nil || n < 0 || n > math.MaxInt64>>unit {
		return 0, errors.New("not a number of bytes such as 268435456, 256MiB or 1GiB (0 or off: none)")
	}
	return n << unit, nil
}

// formatBytes writes n in the largest unit that divides it; 0 is "none".
func formatBytes(n int64) string {
	if n <= 0 {
		return "none"
	}
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// gcSettings are the collector's settings decideGC chose.
type gcSettings struct {
	memoryLimit int64  // bytes; 0: none
	limitFrom   string // "GOMEMLIMIT", "--memory-limit", "cgroup" (75% of its limit), or "" for none
	gcPercent   int    // what to set GOGC to; 0: leave it (GOGC or Go's default of 100)
	envGOGC     string // GOGC as the environment sets it
}

// decideGC applies the rule above to --memory-limit (limit), the process's environment
// (getenv) and its cgroup's memory limit (read with readFile).
func decideGC(limit memoryLimit, getenv func(string) string, readFile func(string) ([]byte, error)) gcSettings {
	s := gcSettings{envGOGC: getenv("GOGC")}
	switch {
	case getenv("GOMEMLIMIT") != "":
		// The runtime has applied it (and would not have started on a malformed one).
		s.memoryLimit, _ = parseBytes(getenv("GOMEMLIMIT"))
		s.limitFrom = "GOMEMLIMIT"
	case limit.given:
		s.memoryLimit, s.limitFrom = limit.bytes, "--memory-limit"
	default:
		// A quarter is left to what the limit does not steer: the stacks, the runtime's own
		// memory, and the heap's growth between two collections.
		if c := cgroupMemoryLimit(readFile); c > 0 {
			s.memoryLimit, s.limitFrom = c/4*3, "cgroup"
		}
	}
	if s.memoryLimit == 0 {
		s.limitFrom = ""
	}
	if s.envGOGC == "" && s.memoryLimit > 0 {
		s.gcPercent = 400
	}
	return s
}

// cgroupMemoryLimit returns the memory limit of the process's cgroup (v2, else v1), 0 when
// there is none or it cannot be read. In a container the cgroup's files are its own.
func cgroupMemoryLimit(readFile func(string) ([]byte, error)) int64 {
	for _, name := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := readFile(name)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0 // v2 "max", or v1's "no limit", a page short of MaxInt64
		}
		return n
	}
	return 0
}

// apply sets the settings on the runtime.
func (s gcSettings) apply() {
	if s.limitFrom != "GOMEMLIMIT" && s.memoryLimit > 0 {
		debug.SetMemoryLimit(s.memoryLimit)
	}
	if s.gcPercent > 0 {
		debug.SetGCPercent(s.gcPercent)
	}
}

// gogc is GOGC as the settings leave it, for the log.
func (s gcSettings) gogc() string {
	switch {
	case s.gcPercent > 0:
		return strconv.Itoa(s.gcPercent)
	case s.envGOGC != "":
		return s.envGOGC
	}
	return "100"
}
