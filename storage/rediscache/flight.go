package rediscache

import (
	"sync"
	"time"

	"github.com/apphub/apphub"
)

// flightLinger is how long a finished rebuild stays joinable: a request that read the same
// generation just before the rebuild was written still finds it instead of loading again.
const flightLinger = time.Second

// flight is one rebuild of one key in this process, loaded after its generation was read.
type flight struct {
	tok   token
	start time.Time // when the generation was read
	done  chan struct{}
	// Set before done is closed.
	claims []apphub.Claim
	err    error
}

// flights lets concurrent requests of one instance share the rebuild of a key. A request joins
// a rebuild only under the token it read itself: the same generation and epoch mean that no
// Touch returned between the rebuild's read and its own, so the rebuild's load saw every commit
// the request must see.
type flights struct {
	mu sync.Mutex
	m  map[apphub.ResourceDay]*flight
}

// join returns the rebuild of k under tok, or registers a new one that the caller leads and
// must finish. maxAge bounds how old a rebuild may be joined (see Cache.rebuild).
func (fs *flights) join(k apphub.ResourceDay, tok token, now time.Time, maxAge time.Duration) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.m[k]; f != nil && f.tok == tok && now.Sub(f.start) < maxAge {
		return f, false
	}
	f = &flight{tok: tok, start: now, done: make(chan struct{})}
	fs.m[k] = f
	return f, true
}

// finish publishes the results of the rebuilds fs of keys ks and forgets them: at once after a
// failure, after flightLinger otherwise (one timer for the lot).
func (fs *flights) finish(ks []apphub.ResourceDay, fls []*flight, loaded map[apphub.ResourceDay][]apphub.Claim, err error) {
	for i, f := range fls {
		f.claims, f.err = loaded[ks[i]], err
		close(f.done)
	}
	forget := func() {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		for i, f := range fls {
			if fs.m[ks[i]] == f {
				delete(fs.m, ks[i])
			}
		}
	}
	if err != nil {
		forget()
		return
	}
	time.AfterFunc(flightLinger, forget)
}
