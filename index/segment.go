package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The postings segment: every postings list held in memory in its encoded
// form (FORMAT.md#postings), in one immutable structure built from a
// Badger read snapshot, so that a query's lookups are a search in sorted
// arrays instead of point reads of Badger's tables (2-3 us each, and a
// query makes thousands). Badger stays the postings' durable home: the
// segment is derived from it, never written, and built again at each
// open (Store.LoadPostings), so the crash-safe registration protocol is
// unchanged.
//
// A write after the snapshot marks the keys it rewrites dirty: those are
// read from Badger (through the postings cache) until the segment is
// merged, that is built again from a newer snapshot, in the background
// once the dirty keys exceed mergeLimit.
// Keys written while a merge scans are dirty in the merged segment too.
// While a merge runs, the old segment and the new one are both held.
//
// Encoded lists cost 5 bytes a posting on a 1,000-hour store (2.35 GB
// for 465 million postings, `cueprint bench --scale-hours 1000`), against
// 4 bytes a time plus 8 a work for the decoded lists of the postings
// cache, and the layout is three arrays (keys, positions, lengths) and
// chunks of bytes, with no map entry or slice header a list.

// segChunkBytes is the size of one chunk of the segment's list bytes: a
// list never straddles two, and growing by a chunk never copies the
// lists already loaded (one array would be copied as it doubled, briefly
// holding the postings twice).
const segChunkBytes = 64 << 20

// mergeDirtyKeys is the fewest dirty keys past which the segment is
// merged (see segmentState.mergeLimit): dirty lookups go to Badger and
// the postings cache, and a few tens of thousands of them cost a query
// little, while a merge reads every list again.
const mergeDirtyKeys = 1 << 16

// segment is an immutable in-memory copy of the postings lists: key i's
// encoded list is chunks[pos[i]>>32][uint32(pos[i]) : uint32(pos[i])+lens[i]].
// A segment cut short by its memory budget holds the lists of the keys up
// to limit only (complete false); the others are read from Badger.
type segment struct {
	keys     []uint32
	pos      []uint64
	lens     []uint32
	chunks   [][]byte
	bytes    int64
	complete bool
	limit    uint32
}

// covers reports whether the segment holds key k's list (or knows it has
// none).
func (g *segment) covers(k uint32) bool { return g.complete || k <= g.limit }

// value returns key i's encoded list.
func (g *segment) value(i int) []byte {
	p := g.pos[i]
	off := uint32(p)
	return g.chunks[p>>32][off : off+g.lens[i]]
}

// seek returns the index of the first key >= k at or after from: a
// galloping search, since a query's keys come in ascending order and are
// mostly close together.
func (g *segment) seek(from int, k uint32) int {
	n := len(g.keys)
	if from >= n || g.keys[from] >= k {
		return from
	}
	step := 1
	lo, hi := from, from+1
	for hi < n && g.keys[hi] < k {
		lo = hi
		step <<= 1
		hi = from + step
	}
	hi = min(hi, n)
	i, _ := slices.BinarySearch(g.keys[lo:hi], k)
	return lo + i
}

// segmentBuilder appends lists, in ascending key order, into a segment.
type segmentBuilder struct {
	g segment
}

func (b *segmentBuilder) add(k uint32, v []byte) {
	g := &b.g
	if len(g.chunks) == 0 || len(g.chunks[len(g.chunks)-1])+len(v) > cap(g.chunks[len(g.chunks)-1]) {
		g.chunks = append(g.chunks, make([]byte, 0, max(segChunkBytes, len(v))))
	}
	c := len(g.chunks) - 1
	g.keys = append(g.keys, k)
	g.pos = append(g.pos, uint64(c)<<32|uint64(len(g.chunks[c])))
	g.lens = append(g.lens, uint32(len(v)))
	g.chunks[c] = append(g.chunks[c], v...)
	g.bytes += int64(len(v))
}

// finish returns the segment, its arrays trimmed to their length;
// complete says whether every list was added.
func (b *segmentBuilder) finish(complete bool) *segment {
	g := &b.g
	g.keys, g.pos, g.lens = slices.Clip(g.keys), slices.Clip(g.pos), slices.Clip(g.lens)
	g.bytes += int64(len(g.keys)) * 16
	g.complete = complete
	if len(g.keys) > 0 {
		g.limit = g.keys[len(g.keys)-1]
	}
	return g
}

// full reports whether adding a list of n bytes would pass maxBytes
// (counting the 16 bytes of arrays a list costs).
func (b *segmentBuilder) full(n int, maxBytes int64) bool {
	return maxBytes > 0 && b.g.bytes+int64(len(b.g.keys)+1)*16+int64(n) > maxBytes
}

// segmentState is the store's segment and what was written since.
type segmentState struct {
	mu  sync.RWMutex
	seg *segment // nil until LoadPostings
	// dirty: keys written since seg's snapshot. pending, during a merge:
	// keys written since the merge's snapshot (dirty in the new segment).
	dirty   map[uint32]struct{}
	pending map[uint32]struct{}
	merging bool
	merges  int64
	// mergeKeys is the dirty count that starts a merge.
	mergeKeys int
	// maxBytes bounds a segment's memory (0: no bound).
	maxBytes int64
	// Background merges run under bg, cancelled (cancel) at Close; done
	// is closed when the running one ends.
	bg     context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// init prepares the state of a store just opened.
func (st *segmentState) init(mergeKeys int, maxBytes int64) {
	st.mergeKeys, st.maxBytes = mergeKeys, maxBytes
	st.bg, st.cancel = context.WithCancel(context.Background())
}

// mergeLimit returns the dirty keys that start a merge: mergeKeys when
// set, else mergeDirtyKeys or a quarter of the segment's keys, whichever
// is more. A merge reads the whole store again, so on a large store it
// waits for a share of its keys to change, not a fixed number: a
// registration of a four-minute work rewrites some 30,000 lists.
func (st *segmentState) mergeLimit() int {
	if st.mergeKeys > 0 {
		return st.mergeKeys
	}
	return max(mergeDirtyKeys, len(st.seg.keys)/4)
}

// markDirty records that key k's list is being rewritten. It is called
// by writers (under the store's write lock) before the write commits.
func (st *segmentState) markDirty(k uint32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seg != nil {
		st.dirty[k] = struct{}{}
	}
	if st.pending != nil {
		st.pending[k] = struct{}{}
	}
}

// serves appends to dst, for each key of ks, whether the segment serves
// it (loaded, and the key not dirty), and returns the segment: one read
// lock for the batch, so the answers and the segment agree.
func (st *segmentState) serves(ks []uint32, dst []bool) (*segment, []bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, k := range ks {
		_, dirty := st.dirty[k]
		dst = append(dst, st.seg != nil && !dirty && st.seg.covers(k))
	}
	return st.seg, dst
}

// LoadPostings reads every postings list into the in-memory segment
// (see segment), as far as Options.PostingsMemoryBytes allows, replacing
// any loaded before, and returns the number of lists loaded. A long-running daemon calls it once at start; from then on
// writes are merged into the segment in the background. A one-off
// command leaves the lists in Badger and reads the few a query needs.
func (s *Store) LoadPostings(ctx context.Context) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	st := &s.seg
	st.mu.Lock()
	if st.merging {
		st.mu.Unlock()
		return 0, errors.New("index: postings segment already being loaded")
	}
	st.merging = true
	st.mu.Unlock()
	g, err := s.buildSegment(ctx)
	if err != nil {
		return 0, err
	}
	return len(g.keys), nil
}

// buildSegment builds a segment from a snapshot taken now and installs
// it: keys written since the snapshot stay dirty. st.merging must be set
// by the caller; it is cleared on return.
func (s *Store) buildSegment(ctx context.Context) (*segment, error) {
	st := &s.seg
	// The snapshot and the start of pending are taken together under the
	// write lock: no write is half done (writers hold it throughout), so
	// every write is either in the snapshot or recorded in pending.
	s.writeMu.Lock()
	txn := s.db.NewTransaction(false)
	st.mu.Lock()
	st.pending = map[uint32]struct{}{}
	st.mu.Unlock()
	s.writeMu.Unlock()
	defer txn.Discard()

	start := time.Now()
	var b segmentBuilder
	complete := true
	err := scanPostings(ctx, txn, func(k uint32, v []byte) error {
		if b.full(len(v), st.maxBytes) {
			complete = false
			return errStopScan
		}
		b.add(k, v)
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.merging = false
	if err != nil {
		st.pending = nil
		return nil, fmt.Errorf("index: load postings: %w", err)
	}
	g := b.finish(complete)
	if !complete {
		s.log.Warn("postings segment cut at its memory budget: later keys are read from disk",
			"budget_bytes", st.maxBytes, "lists", len(g.keys), "last_key", g.limit)
	}
	st.seg, st.dirty, st.pending = g, st.pending, nil
	st.merges++
	s.log.Debug("postings segment built", "lists", len(g.keys), "bytes", g.bytes, "dirty", len(st.dirty),
		"seconds", time.Since(start).Seconds())
	return g, nil
}

// maybeMerge starts a background merge when the segment's dirty keys
// exceed the threshold and none is running.
func (s *Store) maybeMerge() {
	st := &s.seg
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seg == nil || st.merging || st.cancel == nil || len(st.dirty) < st.mergeLimit() {
		return
	}
	st.merging = true
	ctx, done := st.bg, make(chan struct{})
	st.done = done
	go func() {
		defer close(done)
		if _, err := s.buildSegment(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("postings segment merge failed; dirty keys stay on Badger", "err", err)
		}
	}()
}

// mergeRunning reports whether a segment is being built.
func (s *Store) mergeRunning() bool {
	s.seg.mu.RLock()
	defer s.seg.mu.RUnlock()
	return s.seg.merging
}

// stats returns the segment's lists and bytes, the dirty keys and the
// segments built.
func (st *segmentState) stats() (lists, bytes, dirty, merges int64, complete bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.seg != nil {
		lists, bytes, complete = int64(len(st.seg.keys)), st.seg.bytes, st.seg.complete
	}
	return lists, bytes, int64(len(st.dirty)), st.merges, complete
}

// stopMerges cancels a running merge and waits for it.
func (st *segmentState) stopMerges() {
	st.mu.Lock()
	cancel, done := st.cancel, st.done
	st.cancel = nil
	st.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if done != nil {
		<-done
	}
}

// scanPostings calls fn with every postings key and value (valid only
// during the call) in txn, in key order, until fn returns an error.
func scanPostings(ctx context.Context, txn *badger.Txn, fn func(key uint32, v []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPostings}, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%checkContextEveryNLookups == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := it.Item().Key()
		if len(k) != 5 {
			return fmt.Errorf("%w: postings key of %d bytes", ErrCorrupt, len(k))
		}
		h := binary.BigEndian.Uint32(k[1:])
		if err := it.Item().Value(func(v []byte) error { return fn(h, v) }); err != nil {
			return err
		}
	}
	return nil
}
