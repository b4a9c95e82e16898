package match

import (
	"container/list"
	"sync"

	"github.com/cueprint/cueprint/fingerprint"
)

// refCacheLandmarks bounds the reference landmarks kept decoded: about 32
// MiB, some 200 three-minute works.
const refCacheLandmarks = 4 << 20

// refPrint is a work's landmarks sorted by hash, its triplets sorted by
// key and its peaks in time order, each computed from the forward print
// the first time a search asks for it (refLandmarks, refTriplets,
// refPeaks): the invariant search recovers the change of dozens of works
// from their triplets and aligns a few, so most never need their
// landmarks, and only the works found need their peaks (their edges).
// The cache is bounded by size, the landmarks a work has or will have;
// its triplets add about a sixth, its peaks about a third.
type refPrint struct {
	size int

	peaksOnce sync.Once
	peaks     []fingerprint.Peak
	peaksErr  error

	landmarksOnce sync.Once
	landmarks     []fingerprint.Landmark
	landmarksErr  error

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

// put caches r for num and returns it, or returns the print already
// cached for num (two searches asked for it at once).
func (c *refCache) put(num uint32, r *refPrint) *refPrint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[num]; ok {
		return e.Value.(cacheItem).r
	}
	if r.size > c.limit {
		return r
	}
	c.items[num] = c.ll.PushFront(cacheItem{num, r})
	c.size += r.size
	for c.size > c.limit {
		e := c.ll.Back()
		it := e.Value.(cacheItem)
		c.ll.Remove(e)
		delete(c.items, it.num)
		c.size -= it.r.size
	}
	return r
}
