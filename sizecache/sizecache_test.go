package sizecache

import "testing"

// The cache stays within its budget, keeps the newest value, and counts exactly when a value
// is replaced, whatever the sizes.
func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		name         string
		budget, keys int
		size         func(i int) int
		wantAtLeast  int
	}{
		{"equal sizes", 1000, 30, func(int) int { return 100 }, 10},
		{"growing sizes", 1000, 30, func(i int) int { return 10 * (i%10 + 1) }, 9},
		{"one value as big as the budget", 100, 5, func(int) int { return 100 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New[int, string](tc.budget)
			for i := range 200 {
				k := i % tc.keys
				c.Put(k, "v", tc.size(i))
				if c.bytes > tc.budget {
					t.Fatalf("after %d puts: %d bytes kept, budget %d", i+1, c.bytes, tc.budget)
				}
				if _, found := c.Get(k); !found {
					t.Fatalf("value %d not kept", i)
				}
				sum := 0
				for _, e := range c.m {
					sum += e.size
				}
				if sum != c.bytes {
					t.Fatalf("after %d puts the count says %d bytes, the values hold %d", i+1, c.bytes, sum)
				}
			}
			if c.Len() < tc.wantAtLeast {
				t.Fatalf("%d values kept, want at least %d", c.Len(), tc.wantAtLeast)
			}
		})
	}
}
