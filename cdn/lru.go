package cdn

import (
	"container/list"
	"sync"
)

// lru is a cache that keeps the most recently used values up to a total
// cost, evicting the least recently used first. It is safe for concurrent
// use.
type lru[V any] struct {
	mu    sync.Mutex // guards the fields below
	order *list.List // of *lruEntry[V], most recently used first
	items map[string]*list.Element
	cost  int64 // sum of the entries' costs
}

type lruEntry[V any] struct {
	key   string
	value V
	cost  int64
}

func newLRU[V any]() *lru[V] {
	return &lru[V]{order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the value cached for key and marks it used.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).value, true
}

// add caches value for key at cost, then evicts the least recently used
// entries until the total cost is at most max. A value costing more than
// max is not cached.
func (c *lru[V]) add(key string, value V, cost, max int64) {
	if cost > max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		// Another request filled it meanwhile; the values are equal.
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value, cost: cost})
	c.cost += cost
	for c.cost > max {
		e := c.order.Back()
		old := e.Value.(*lruEntry[V])
		c.order.Remove(e)
		delete(c.items, old.key)
		c.cost -= old.cost
	}
}
