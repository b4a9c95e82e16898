package index

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/cueprint/cueprint/fingerprint"
)

// checkContextEveryNLookups is how often a postings scan looks at ctx.
const checkContextEveryNLookups = 256

// Postings calls fn, in ascending hash order, for each of the hashes
// (sorted ascending, distinct) that has postings, with an iterator over
// the live works holding it (possibly none, when every work holding it
// was deleted). The iterator and the slices it yields are valid only
// during the call.
// Looking the keys up in order lets Badger walk its tables forward.
func (s *Store) Postings(ctx context.Context, hashes []uint32, fn func(hash uint32, it *PostingsIter)) error {
	live, err := s.liveSnapshot()
	if err != nil {
		return err
	}
	it := &PostingsIter{live: live}
	emit := func(h uint32, flat []uint32) {
		it.flat, it.off, it.left = flat, 1, int(flat[0])
		fn(h, it)
	}
	// One read transaction, the hashes in order, each emitted as soon as
	// it is read: memory stays at one list however many the query
	// touches (a query searched under every variant touches a large share
	// of the hash space; on a store of a million works that is gigabytes).
	// A list read is cached while the cache has room; otherwise its
	// buffer is reused.
	gen := s.gen.Load()
	var buf []uint32
	// Cached lists are looked up a batch at a time, under one read lock;
	// so is whether the segment serves them (segment.go).
	var batch [][]uint32
	var inCache, inSeg []bool
	var seg *segment
	cur := 0 // seg's index of the last key sought
	return s.db.View(func(txn *badger.Txn) error {
		for i, h := range hashes {
			if i%checkContextEveryNLookups == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if i%cacheBatch == 0 {
				end := min(i+cacheBatch, len(hashes))
				var g *segment
				if g, inSeg = s.seg.serves(hashes[i:end], inSeg[:0]); g != seg {
					seg, cur = g, 0
				}
				batch, inCache = batch[:0], inCache[:0]
				if slices.Contains(inSeg, false) {
					batch, inCache = s.cache.getBatch(hashes[i:end], batch, inCache)
				}
			}
			if inSeg[i%cacheBatch] {
				if cur > 0 && seg.keys[min(cur, len(seg.keys)-1)] > h {
					cur = 0 // hashes not in ascending order
				}
				if cur = seg.seek(cur, h); cur < len(seg.keys) && seg.keys[cur] == h {
					flat, err := decodeFlat(seg.value(cur), buf[:0])
					if err != nil {
						return fmt.Errorf("postings of hash %d: %w", h, err)
					}
					buf = flat
					emit(h, flat)
				}
				continue
			}
			if flat := batch[i%cacheBatch]; inCache[i%cacheBatch] {
				if flat != nil {
					emit(h, flat)
				}
				continue
			}
			item, err := txn.Get(postingsKey(h))
			if errors.Is(err, badger.ErrKeyNotFound) {
				s.cacheFill(gen, h, nil)
				continue
			}
			if err != nil {
				return err
			}
			var flat []uint32
			reuse := s.cache.full()
			if err := item.Value(func(v []byte) (err error) {
				if reuse {
					flat, err = decodeFlat(v, buf[:0])
					buf = flat
				} else {
					flat, err = decodeFlat(v, nil)
				}
				return err
			}); err != nil {
				return fmt.Errorf("postings of hash %d: %w", h, err)
			}
			if !reuse {
				// Filled into the cache (decoded, unfiltered) unless a
				// write touched the hash meanwhile: see cacheFill.
				s.cacheFill(gen, h, flat)
			}
			emit(h, flat)
		}
		return nil
	})
}

// PostingsIter iterates over one hash's postings: the live works holding
// it, in ascending work number, each with its anchor times in whole
// frames, ascending. Use:
//
//	for it.Next() {
//		w, times := it.At()
//	}
//
// It reads the decoded list in place (see postingsCache for its layout):
// no slice per work is built (building them was about a sixth of a clean
// query's search on the 12-hour benchmark store).
type PostingsIter struct {
	live  liveBits
	flat  []uint32
	off   int // next work's position in flat
	left  int // works not yet read
	work  uint32
	times []uint32
}

// Next advances to the next live work and reports whether there is one.
func (it *PostingsIter) Next() bool {
	for it.left > 0 {
		it.left--
		w, n := it.flat[it.off], int(it.flat[it.off+1])
		it.times = it.flat[it.off+2 : it.off+2+n]
		it.off += 2 + n
		if it.live.has(w) {
			it.work = w
			return true
		}
	}
	return false
}

// At returns the current work number and its anchor times.
func (it *PostingsIter) At() (work uint32, times []uint32) { return it.work, it.times }

// Size returns the number of postings (work, time) the whole list holds,
// live or not, without iterating: what reading it would cost.
func (it *PostingsIter) Size() int { return len(it.flat) - 1 - 2*int(it.flat[0]) }

// cacheFill caches a postings list read outside the write lock, in a
// transaction begun at write generation gen. It does nothing while a write
// is in progress or if one committed since gen: the list read may be stale.
func (s *Store) cacheFill(gen uint64, h uint32, flat []uint32) {
	if s.writeMu.TryLock() {
		if s.gen.Load() == gen {
			s.cache.put(h, flat)
		}
		s.writeMu.Unlock()
	}
}

// Peaks returns the forward print of live work number num.
func (s *Store) Peaks(num uint32) ([]fingerprint.Peak, error) {
	if !s.IsLive(num) {
		return nil, fmt.Errorf("%w: number %d", ErrNotFound, num)
	}
	return s.forwardPrint(num)
}

// VideoPrint returns the video print of live work number num
// (ErrNotFound when it has none).
func (s *Store) VideoPrint(num uint32) ([]fingerprint.VideoFrameHashes, error) {
	if !s.IsLive(num) {
		return nil, fmt.Errorf("%w: number %d", ErrNotFound, num)
	}
	return s.videoPrint(num)
}

// errStopScan ends eachPostings early, without an error.
var errStopScan = errors.New("stop")

// eachPostings calls fn with every postings key and its value (valid
// only during the call), in key order, in one read transaction, until fn
// returns an error (errStopScan: stop without one).
func (s *Store) eachPostings(ctx context.Context, fn func(key uint32, v []byte) error) error {
	err := s.db.View(func(txn *badger.Txn) error { return scanPostings(ctx, txn, fn) })
	if errors.Is(err, errStopScan) {
		return nil
	}
	return err
}
