package booking

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every caller gets a read that began after it called, and callers at the same moment share
// reads.
func TestNextReadNeverGivesAnEarlierRead(t *testing.T) {
	var n nextRead[int64]
	var writes, reads atomic.Int64
	read := func(context.Context) (int64, error) {
		reads.Add(1)
		seen := writes.Load() // what this read sees: every write committed before it began
		time.Sleep(2 * time.Millisecond)
		return seen, nil
	}
	const callers, calls = 50, 20
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				committed := writes.Add(1) // a write that commits before the call
				seen, err := n.do(context.Background(), read)
				if err != nil || seen < committed {
					t.Errorf("a read that missed a write committed before the call: saw %d, want ≥ %d (err %v)", seen, committed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := reads.Load(); got >= callers*calls/4 {
		t.Errorf("%d reads for %d calls: callers of the same moment do not share them", got, callers*calls)
	}
}

// A read's error goes to its callers, not to the next read's; a caller whose context ends
// stops waiting without ending the read of the others.
func TestNextReadErrorsAndCancellation(t *testing.T) {
	var n nextRead[string]
	boom := errors.New("store down")
	release := make(chan struct{})
	read := func(ctx context.Context) (string, error) {
		<-release
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", boom
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, err := n.do(ctx, read); errs <- err }()
	go func() { _, err := n.do(context.Background(), read); errs <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled caller: %v", err)
	}
	close(release)
	if err := <-errs; !errors.Is(err, boom) {
		t.Fatalf("the other caller: %v, want the read's error", err)
	}
	ok := func(context.Context) (string, error) { return "fine", nil }
	if v, err := n.do(context.Background(), ok); err != nil || v != "fine" {
		t.Fatalf("a later read: %q %v", v, err)
	}
}

// Reads are shared by name only, and a name is forgotten once no one waits for it.
func TestNextReadsByName(t *testing.T) {
	var n nextReads[string]
	release := make(chan struct{})
	var reads atomic.Int64
	read := func(name string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			reads.Add(1)
			<-release
			return name, nil
		}
	}
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range 6 {
		name := []string{"zone-a", "zone-b"}[i%2]
		wg.Go(func() {
			v, err := n.do(context.Background(), name, read(name))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, v := range got {
		if want := []string{"zone-a", "zone-b"}[i%2]; v != want {
			t.Fatalf("caller %d got %q, want %q", i, v, want)
		}
	}
	if r := reads.Load(); r < 2 || r > 4 {
		t.Fatalf("%d reads for 6 callers of 2 names: want at most two a name", r)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.byKey) != 0 {
		t.Fatalf("%d names kept after their callers left", len(n.byKey))
	}
}
