package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/rediscache"
)

// stores holds the hub's connections and, in embedded mode, the servers it runs itself.
type stores struct {
	mongo *mongodb.DB
	redis *rediscache.Client
	// redisGuard checks every connection to an external Redis for data gone back in time; nil
	// on the embedded one.
	redisGuard  *rediscache.RollbackGuard
	mongoMode   string // "embedded" or "external"
	redisMode   string
	mongoURI    string // where the hub reaches each store (the embedded ones' loopback addresses)
	redisURL    string
	closeEmbeds []func() error
}

// openStores connects to MONGODB_URI and REDIS_URL, starting the embedded server for each that
// is not set. Connections are lazy: a hub starts while an external store is down.
// ferretLogger receives the embedded FerretDB's own messages, logger the Redis guard's.
func openStores(cfg config, ferretLogger, logger *slog.Logger) (*stores, error) {
	return openTracedStores(cfg, ferretLogger, logger, nil)
}

// openTracedStores is openStores with a tracer provider (nil: none): both clients then make a
// span of every command.
func openTracedStores(cfg config, ferretLogger, logger *slog.Logger, tp trace.TracerProvider) (_ *stores, err error) {
	s := &stores{mongoMode: "external", redisMode: "external"}
	defer func() {
		if err != nil {
			s.close(context.Background())
		}
	}()

	mongoURI := cfg.mongoURI
	if mongoURI == "" {
		e, err := mongodb.StartEmbedded(cfg.dataDir, "127.0.0.1:0", ferretLogger)
		if err != nil {
			return nil, err
		}
		s.closeEmbeds = append(s.closeEmbeds, e.Close)
		mongoURI, s.mongoMode = e.URI(), "embedded"
	}
	s.mongoURI = mongoURI
	if s.mongo, err = mongodb.Open(mongoURI, cfg.mongoDatabase, mongodb.WithTracerProvider(tp)); err != nil {
		return nil, err
	}

	redisURL := cfg.redisURL
	if redisURL == "" {
		e, err := rediscache.StartEmbedded("127.0.0.1:0", cfg.redisTick)
		if err != nil {
			return nil, err
		}
		s.closeEmbeds = append(s.closeEmbeds, func() error { e.Close(); return nil })
		redisURL, s.redisMode = e.URL(), "embedded"
	} else {
		// The embedded Redis needs no guard: it lives and dies with this process and keeps
		// nothing on disk, so it is never restored from a snapshot (nor has it a run_id).
		s.redisGuard = rediscache.NewRollbackGuard(cfg.redisPrefix, logger)
	}
	s.redisURL = redisURL
	if s.redis, err = rediscache.Connect(redisURL, rediscache.ConnectOptions{Guard: s.redisGuard, TracerProvider: tp}); err != nil {
		return nil, err
	}
	return s, nil
}

// close disconnects the clients, then stops the embedded servers, newest first.
func (s *stores) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var errs []error
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
	}
	if s.mongo != nil {
		errs = append(errs, s.mongo.Close(ctx))
	}
	for i := len(s.closeEmbeds) - 1; i >= 0; i-- {
		errs = append(errs, s.closeEmbeds[i]())
	}
	return errors.Join(errs...)
}
