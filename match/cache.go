package match

import (
	"container/list"
	"sync"

	"github.com/cueprint/cueprint/fingerprint"
)

// refCacheLandmarks bounds the reference landmarks kept decoded: about 32
// MiB, some 200 three-minute works.
const refCacheLandmarks = 4 << 20

// refPrint is a work's landmarks sorted by hash and, once the invariant
// search needed them (refTriplets), its triplets sorted by key. The cache
// is bounded by landmarks; a work's triplets add about a sixth to its
// memory.
type refPrint struct {
	landmarks []fingerprint.Landmark

	tripletsOnce sync.Once
	triplets     []fingerprint.Triplet
	tripletsErr  error
}

// refCache is an LRU of decoded reference prints, bounded by landmarks.
type refCache struct {
	mu    sync.Mutex
	limit int
	size  int
	ll    *list.List
	items map[uint32]*list.Element
}

type cacheItem struct {
	num uint32
	r   *refPrint
}

func newRefCache(limit int) *refCache {
	return &refCache{limit: limit, ll: list.New(), items: map[uint32]*list.Element{}}
}

func (c *refCache) get(num uint32) *refPrint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[num]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(cacheItem).r
	}
	return nil
}

func (c *refCache) put(num uint32, r *refPrint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[num]; ok || len(r.landmarks) > c.limit {
		return
	}
	c.items[num] = c.ll.PushFront(cacheItem{num, r})
	c.size += len(r.landmarks)
	for c.size > c.limit {
		e := c.ll.Back()
		it := e.Value.(cacheItem)
		c.ll.Remove(e)
		delete(c.items, it.num)
		c.size -= len(it.r.landmarks)
	}
}
