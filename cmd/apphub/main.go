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
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // time zones must not depend on the host

	"github.com/apphub/apphub/storage/rediscache"
)

var subcommands = map[string]string{
	"serve":  "Runs the hub: GraphQL at /graphql, TMF646 at /tmf-api/appointment/v4/, /healthz, /readyz; /metrics and /debug/pprof/ on --admin-addr.",
	"seed":   "Prepares the hub's database (its identity record) and exits.",
	"token":  "Prints a bearer token signed by the local key of --data-dir, which a hub in local-key mode (no --oidc-issuer) on that directory accepts.",
	"apikey": "Creates, revokes or lists API keys through a running hub's GraphQL API, as an admin (--token).",
}

func main() { os.Exit(runMain(hooks{})) }

// runMain runs the program with its process-wide settings and returns its exit code.
func runMain(h hooks) int {
	if os.Getenv("GOGC") == "" {
		// The embedded FerretDB allocates about 35 KB for every document it reads, so with
		// Go's default of 100 the collector runs all through a cold search's scan (a third
		// slower). The hub's live heap is tens of MB: four times that as headroom is cheap.
		debug.SetGCPercent(400)
	}
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
		case "help", "-h", "-help", "--help":
			fmt.Fprintf(stderr, "Usage: apphub [serve|seed|token|apikey] [flags]\n\n  serve   %s\n  seed    %s\n  token   %s\n  apikey  %s\n\n"+
				"Run 'apphub <subcommand> --help' for its flags.\n",
				subcommands["serve"], subcommands["seed"], subcommands["token"], subcommands["apikey"])
			return flag.ErrHelp
		default:
			if len(args[0]) > 0 && args[0][0] != '-' {
				return fmt.Errorf("unknown subcommand %q (want serve, seed, token or apikey)", args[0])
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
	if name == "seed" {
		return seed(ctx, cfg, logger, stdout)
	}
	return serve(ctx, cfg, logger, stderr)
}

// version is the module version of the binary and its VCS revision when the build recorded one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
