package rediscache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Embedded is an in-process Redis (miniredis) on loopback. miniredis never expires keys on its
// own, so Embedded advances its clock on a ticker: keys with a TTL then expire as on Redis.
type Embedded struct {
	m      *miniredis.Miniredis
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartEmbedded starts miniredis on addr ("127.0.0.1:0" picks a free port) and advances its
// clock by tick every tick.
func StartEmbedded(addr string, tick time.Duration) (*Embedded, error) {
	if tick <= 0 {
		return nil, fmt.Errorf("embedded Redis: tick must be positive, got %s", tick)
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("embedded Redis: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{m: m, cancel: cancel}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				// Advance by the time that really passed, so TTLs track the wall clock even when
				// ticks are late.
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return e, nil
}

// URL is the redis:// URL of the embedded server.
func (e *Embedded) URL() string { return "redis://" + e.m.Addr() }

// Close stops the clock and the server.
func (e *Embedded) Close() {
	e.cancel()
	e.wg.Wait()
	e.m.Close()
}
