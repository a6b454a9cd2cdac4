package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/apphub/apphub/storage/mongodb"
)

// storeCommand runs the one MongoDB-wire store that several hub processes share: FerretDB on
// PostgreSQL, built from the same FerretDB library the hub embeds (FerretDB's own command does
// not build from the module proxy). Every hub points MONGODB_URI at it. One store per
// PostgreSQL database: a second one refuses to start (mongodb.ErrFrontEndTaken).
func storeCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	listen, pgURL := "127.0.0.1:27017", ""
	logLevel, logFormat := "info", "auto"
	fs, err := declare("store", "apphub store --postgresql-url URL [flags]", []option{
		{"listen", "APPHUB_STORE_LISTEN", "`address` (host:port) the store speaks the MongoDB wire protocol on (keep it private: it has no authentication)", (*stringValue)(&listen)},
		{"postgresql-url", "APPHUB_POSTGRESQL_URL", "the PostgreSQL database the store keeps its data in, a `URL` such as postgres://apphub@db:5432/apphub", (*stringValue)(&pgURL)},
		{"log-level", "APPHUB_LOG_LEVEL", "log `level`: debug, info, warn, error", (*stringValue)(&logLevel)},
		{"log-format", "APPHUB_LOG_FORMAT", "log `format`: auto (text on a terminal, JSON otherwise), text, json", (*stringValue)(&logFormat)},
	}, getenv, stderr)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var errs []error
	if pgURL == "" {
		errs = append(errs, errors.New("--postgresql-url: required"))
	}
	if listen == "" {
		errs = append(errs, errors.New("--listen: required"))
	}
	if _, err := parseLevel(logLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logger := newLogger(stderr, logFormat, logLevel)
	s, err := mongodb.StartServer(ctx, pgURL, listen, logger.With("component", "ferretdb"))
	if err != nil {
		return err
	}
	logger.Info("apphub store serving", "mongodb", s.URI(), "engine", "FerretDB 1.24.2 (PostgreSQL)", "postgresql", redactURL(pgURL))
	select {
	case <-ctx.Done():
		logger.Info("store: stopping")
		return s.Close()
	case err := <-s.Lost():
		s.Close()
		return err
	}
}

// redactURL is a connection string fit for a log: its password hidden.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a connection string that is not a URL)"
	}
	return u.Redacted()
}
