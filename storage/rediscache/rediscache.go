// Package rediscache holds the hub's derived, rebuildable state in Redis: availability,
// the cross-instance event bus and limits. Nothing in Redis decides a booking.
//
// Two things keep the cache honest when Redis misbehaves. A Breaker, shared by the cache and
// the bus of one client, stops every call once Redis is found down, so that bookings go at
// MongoDB's speed, and closes by itself when Redis answers a PING again. A RollbackGuard,
// installed in the client's OnConnect hook (ConnectOptions), replaces the cache's epoch when
// the server a connection reaches holds data that may be older than answers already given (a
// restart on an older snapshot, a failover to a lagging replica); its documentation says
// precisely what it covers on a single server, Sentinel and Redis Cluster, and what it does not.
package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
)

// ConnectOptions tune Connect.
type ConnectOptions struct {
	// Guard, if not nil, checks the server of every new connection before it is used, and
	// replaces the cache's epoch when Redis's data may have gone back in time. Give the cache
	// the same guard (CacheOptions.Guard).
	Guard *RollbackGuard
	// TracerProvider, if not nil, makes every command and pipeline a client span of it
	// (go-redis's redisotel), named after the command ("evalsha", "redis.pipeline evalsha").
	// The spans never hold the commands' arguments: keys and values name resources and days,
	// and an entry of the bus holds appointments.
	TracerProvider trace.TracerProvider
}

// Client is a connection to Redis: a single server, a master found through Sentinel, or a
// Cluster, as the URL given to Connect says. The cache, the bus, the breaker and the query cache
// of one hub share one client; the go-redis client inside it stays in this package, as the
// MongoDB driver stays in package mongodb.
type Client struct {
	rdb redis.UniversalClient
}

// clusterReload is how stale a Cluster client's slot map may get.
const clusterReload = 2 * time.Second

// Connect returns a client for redisURL without waiting for the server; go-redis dials on
// first use and redials after failures, so Redis may come and go while the hub runs.
// Contexts bound every command (ContextTimeoutEnabled): callers give Redis a short deadline and
// fall back, instead of waiting for the client's own read timeout.
//
// A plain redis:// or rediss:// URL gives a single-node client; with a master_name query
// parameter it is a Sentinel URL, and with addr parameters (more seed nodes) a Cluster URL,
// as go-redis parses them.
func Connect(redisURL string, opts ConnectOptions) (*Client, error) {
	rdb, err := connect(redisURL, opts)
	if err != nil {
		return nil, err
	}
	if opts.TracerProvider != nil {
		// A single or Sentinel client is traced as it is; a Cluster client traces each node's
		// client as it learns of it. The caller's file and line would cost a walk of the stack
		// per command and tell little: the parent span says who called.
		err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(opts.TracerProvider),
			redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
		if err != nil {
			rdb.Close()
			return nil, apphub.WrapError(apphub.EINTERNAL, err, "Redis tracing")
		}
	}
	return &Client{rdb: rdb}, nil
}

func connect(redisURL string, opts ConnectOptions) (redis.UniversalClient, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		return nil, apphub.WrapError(apphub.EINVALID, err, "invalid Redis URL")
	}
	var onConnect func(context.Context, *redis.Conn) error
	if opts.Guard != nil {
		onConnect = opts.Guard.onConnect
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(redisURL)
		if err != nil {
			return nil, apphub.WrapError(apphub.EINVALID, err, "invalid Redis Sentinel URL")
		}
		o.ContextTimeoutEnabled, o.OnConnect = true, onConnect
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(redisURL)
		if err != nil {
			return nil, apphub.WrapError(apphub.EINVALID, err, "invalid Redis Cluster URL")
		}
		o.ContextTimeoutEnabled, o.OnConnect = true, onConnect
		// The client learns of a failover from MOVED replies, which a master that died sends
		// none of: it would keep dialling it until its periodic reload (60 s by default), and
		// the shard's keys would be out of reach that long after its replica took over
		// (TestClusterFailover). The slot map is read again every 2 s instead.
		o.ClusterStateReloadInterval = clusterReload
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, apphub.WrapError(apphub.EINVALID, err, "invalid Redis URL")
		}
		o.ContextTimeoutEnabled, o.OnConnect = true, onConnect
		return redis.NewClient(o), nil
	}
}

// Close closes the client's connections. Close the cache, the bus and the breaker first.
func (c *Client) Close() error { return c.rdb.Close() }

// Raw returns the go-redis client underneath, for what the hub itself never does: tests that
// send raw commands (SAVE, reading keys, hooks that count commands) and cmd/benchref, which
// measures one bare GET.
func (c *Client) Raw() redis.UniversalClient { return c.rdb }

// Ping checks that Redis answers.
func Ping(ctx context.Context, c *Client) error {
	return mapError(c.rdb.Ping(ctx).Err())
}

func mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return apphub.WrapError(apphub.ENOTFOUND, err, "not found")
	default:
		return apphub.WrapError(apphub.EUNAVAILABLE, err, "Redis is unavailable: %s", describe(err))
	}
}

func describe(err error) string {
	var re redis.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("server error %q", re.Error())
	}
	return "no connection"
}

// SetLogger sends go-redis's own messages (failed dials while Redis is down) to l, structured
// like the hub's. go-redis has one logger per process.
func SetLogger(l *slog.Logger) { redis.SetLogger(logger{l}) }

// logger adapts slog to go-redis's logging interface.
type logger struct{ l *slog.Logger }

func (l logger) Printf(ctx context.Context, format string, v ...any) {
	l.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
