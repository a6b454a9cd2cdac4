package rediscache_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/rediscache"
)

func TestMain(m *testing.M) {
	// The tests take Redis away on purpose: go-redis's failed dials are expected noise.
	rediscache.SetLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// The cache and the bus are what the booking service takes.
var (
	_ booking.BusyCache = (*rediscache.Cache)(nil)
	_ booking.Publisher = (*rediscache.Bus)(nil)
)
