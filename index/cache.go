package index

import (
	"sync"
	"sync/atomic"
)

// postingsCache keeps decoded postings in memory, flat, for the hashes
// queries touch: a Badger point lookup costs 2-3 us, and a query searched
// under every variant looks up some 100,000 hashes. Values are flat
// []uint32: nWorks, then per work: num, nTimes, times... (no pointers
// per work, decoded without allocation). Entries are dropped when a
// write touches their hash (register and delete run under the store's
// write lock, so a reader never sees a stale list of a committed change
// for longer than the commit itself). The budget bounds memory: past it,
// nothing more is cached.
type postingsCache struct {
	mu         sync.RWMutex
	m          map[uint32][]uint32
	words      int64 // uint32 words held
	limitWords int64
	hits       atomic.Int64
	misses     atomic.Int64
}

func newPostingsCache(limitBytes int64) *postingsCache {
	return &postingsCache{m: make(map[uint32][]uint32), limitWords: limitBytes / 4}
}

// cacheBatch is how many hashes Store.Postings looks up in the cache under
// one read lock.
const cacheBatch = 256

// getBatch appends to flats and ok the cached list of each hash of hs and
// whether it was cached, under one read lock.
func (c *postingsCache) getBatch(hs []uint32, flats [][]uint32, ok []bool) ([][]uint32, []bool) {
	hits := 0
	c.mu.RLock()
	for _, h := range hs {
		v, in := c.m[h]
		flats, ok = append(flats, v), append(ok, in)
		if in {
			hits++
		}
	}
	c.mu.RUnlock()
	c.hits.Add(int64(hits))
	c.misses.Add(int64(len(hs) - hits))
	return flats, ok
}

// put caches the flat list for h (nil: the hash has no postings). It
// reports false when the budget is spent.
func (c *postingsCache) put(h uint32, flat []uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.words+int64(len(flat))+8 > c.limitWords {
		return false
	}
	if _, ok := c.m[h]; ok {
		return true
	}
	c.m[h] = flat
	c.words += int64(len(flat)) + 8 // + map entry and slice header
	return true
}

// full reports whether the budget is spent (a list put now would likely
// be refused).
func (c *postingsCache) full() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.words+1024 > c.limitWords
}

func (c *postingsCache) drop(h uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[h]; ok {
		c.words -= int64(len(v)) + 8
		delete(c.m, h)
	}
}

// bytes returns the memory the cached lists take.
func (c *postingsCache) bytes() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.words * 4
}
