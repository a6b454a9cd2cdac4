// Package sizecache is a map whose values have a size, kept within a budget: a value that
// does not fit makes room by dropping arbitrary others. It suits caches whose keys are many
// and rarely repeat when the cache is full, where keeping track of recency would cost more
// than it saves.
package sizecache

import "sync"

// Cache is safe for concurrent use. Make it with New.
type Cache[K comparable, V any] struct {
	budget int

	mu    sync.Mutex
	m     map[K]entry[V]
	bytes int
}

type entry[V any] struct {
	v    V
	size int
}

// New returns a cache that keeps the sizes of its values within budget.
func New[K comparable, V any](budget int) *Cache[K, V] {
	return &Cache[K, V]{budget: budget, m: make(map[K]entry[V])}
}

// Get returns the value kept for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[k]
	return e.v, found
}

// Put keeps v for k, replacing what k had; size is what v counts against the budget.
func (c *Cache[K, V]) Put(k K, v V, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, found := c.m[k]; found {
		delete(c.m, k)
		c.bytes -= old.size
	}
	for old, e := range c.m {
		if c.bytes+size <= c.budget {
			break
		}
		delete(c.m, old)
		c.bytes -= e.size
	}
	c.m[k] = entry[V]{v, size}
	c.bytes += size
}

// Len returns how many values the cache keeps.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
