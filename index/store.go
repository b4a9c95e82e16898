// Package index is cueprint's store: a registry of works and an inverted
// index from landmark hash to the works holding it, in Badger v4 with
// Roaring-bitmap postings. The on-disk key layout is documented in
// FORMAT.md beside this file.
//
// A Store is safe for concurrent use. Writes (register, delete) are
// serialised by the store; reads run concurrently with them and never see
// a half-registered work.
package index

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/cueprint/cueprint/fingerprint"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound          = errors.New("index: work not found")
	ErrExists            = errors.New("index: work already registered")
	ErrInvalidWork       = errors.New("index: invalid work")
	ErrCorrupt           = errors.New("index: corrupt")
	ErrUnsupportedFormat = errors.New("index: unsupported format version")
	ErrParamsMismatch    = errors.New("index: fingerprint parameters differ from the store's")
	ErrClosed            = errors.New("index: store closed")
	// ErrNeedsMigration: the store was written by an earlier format
	// whose postings this binary cannot search; Migrate (`cueprint
	// migrate`) converts it in place from its stored prints.
	ErrNeedsMigration = errors.New("index: store needs migration")
)

// postingsBatch is how many postings keys one transaction updates while a
// work is registered or removed: well inside Badger's transaction limits.
const postingsBatch = 4096

// Options configure Open.
type Options struct {
	// Params are the fingerprint parameters; a new store records their
	// hash, an existing one must match it.
	Params fingerprint.AudioParams
	// Video are the video fingerprint parameters, recorded and checked
	// likewise. The zero value means fingerprint.DefaultVideoParams().
	Video fingerprint.VideoParams
	// InMemory keeps everything in memory (tests).
	InMemory bool
	// Logger receives Badger's warnings and the store's recovery notes; nil
	// discards.
	Logger *slog.Logger
	// CacheBytes is Badger's block cache size. The default value is 64 MiB.
	CacheBytes int64
	// PostingsCacheBytes bounds the decoded postings kept in memory for
	// queries. The default value is 1 GiB, enough for the whole index of
	// some 100 hours of audio; a negative value disables the cache.
	PostingsCacheBytes int64
	// SegmentMergeKeys is how many keys written since the postings
	// segment was loaded (LoadPostings) start a background merge. The
	// default (0) is 65,536 or a quarter of the segment's keys, whichever
	// is more.
	SegmentMergeKeys int
	// PostingsMemoryBytes bounds the memory of the in-memory postings
	// segment (LoadPostings): the lists past it, in key order, are read
	// from disk. The default (0) is half the machine's memory; a
	// negative value means no bound.
	PostingsMemoryBytes int64
	// MinFreeBytes is the free space the store's disk must keep: a write
	// that would leave less is refused with ErrInsufficientStorage, and a
	// store whose disk is already below it when opened is opened
	// read-only (matching works, writes are refused). The default value
	// is DefaultMinFreeBytes (256 MiB), the smallest MinMinFreeBytes (144
	// MiB); why is said at DefaultMinFreeBytes. A negative value turns
	// the guard off (a disk that is known to be large and private).
	MinFreeBytes int64
	// ReadOnly opens the store without writing to it: no recovery of
	// interrupted operations, no format upgrade, writes refused with
	// ErrReadOnly. Badger then shares the directory with other readers.
	// A store that was not closed cleanly cannot be opened read-only.
	ReadOnly bool
	// FreeSpace reports the free bytes of the filesystem holding a
	// directory. The default is statfs; tests replace it.
	FreeSpace func(dir string) (int64, error)

	// migrate: opened by Migrate (see Store.migrating).
	migrate bool
}

// Validate reports every invalid option at once.
func (o Options) Validate() error {
	var errs []error
	if err := o.Params.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.videoParams().Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.MinFreeBytes > 0 && o.MinFreeBytes < MinMinFreeBytes {
		errs = append(errs, fmt.Errorf("index options: MinFreeBytes %d: want at least %d (%s), or negative to disable the guard",
			o.MinFreeBytes, MinMinFreeBytes, formatBytes(MinMinFreeBytes)))
	}
	if o.SegmentMergeKeys < 0 {
		errs = append(errs, fmt.Errorf("index options: SegmentMergeKeys %d: want 0 (the default) or more", o.SegmentMergeKeys))
	}
	return errors.Join(errs...)
}

// postingsMemoryBytes returns the segment's budget: PostingsMemoryBytes,
// half the machine's memory by default, 0 (no bound) when negative.
func (o Options) postingsMemoryBytes() int64 {
	switch {
	case o.PostingsMemoryBytes > 0:
		return o.PostingsMemoryBytes
	case o.PostingsMemoryBytes < 0:
		return 0
	}
	return totalMemory() / 2
}

// videoParams returns o.Video, or the defaults for the zero value.
func (o Options) videoParams() fingerprint.VideoParams {
	if o.Video.FPS == 0 {
		return fingerprint.DefaultVideoParams()
	}
	return o.Video
}

// Store is an open index.
type Store struct {
	db     *badger.DB
	params fingerprint.AudioParams
	video  fingerprint.VideoParams
	log    *slog.Logger
	dir    string

	// readOnly: opened without a memtable of its own (Options.ReadOnly,
	// or a disk below the reserve at open, when lowSpaceAtOpen holds the
	// free bytes then; -1 otherwise).
	readOnly       bool
	lowSpaceAtOpen int64
	minFree        int64
	freeSpace      func(string) (int64, error)
	refusedWrites  atomic.Int64
	refusedNeed    atomic.Int64 // bytes the last refused write needed; 0 after one is accepted

	// migrating: opened by Migrate, which may open a store of an
	// earlier format (oldFormat, 0 when current).
	migrating bool
	oldFormat uint32

	writeMu sync.Mutex // serialises register and delete

	mu     sync.RWMutex
	live   *roaring.Bitmap // numbers of registered works
	closed bool
	// liveBits is a dense snapshot of live for the postings filter (a bit
	// test, not a Roaring search, per posting read), built on first use
	// after a change; nil when stale. liveGen counts changes to live.
	liveBits liveBits
	liveGen  uint64

	cache *postingsCache
	// gen counts committed postings writes; a read fills the cache only if
	// no write committed since it began (see cacheFill).
	gen atomic.Uint64
	// seg is the in-memory postings segment (segment.go).
	seg segmentState
}

// tableOptions returns the Badger options that decide how a store's
// tables are laid out on disk, shared by Open and the bulk builder so that
// a built store is the same as a registered one: ZSTD compression, blocks
// of tableBlockBytes, values inline up to 1 MB, one version per key.
func tableOptions(dir string, logger *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger}).
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(zstdLevel).
		WithBlockSize(tableBlockBytes).
		WithValueThreshold(1 << 20).
		WithNumVersionsToKeep(1)
}

// tableBlockBytes is the size of Badger's table blocks, the unit it
// compresses and reads. Postings lists are a few dozen bytes, so a block
// holds hundreds of keys, and each block costs an index entry and a ZSTD
// frame: the same 12-hour store's keys and values written with Badger's
// default of 4 KB took 23.2 MB, with 16 KB 22.4 MB (3.7 % less; 32 KB
// saved only 0.6 % more). A lookup decompresses a bigger block, which a
// daemon pays once: it loads its postings into memory (LoadPostings).
const tableBlockBytes = 16 << 10

// zstdLevel is the ZSTD level Badger compresses table blocks with. Badger's
// default, 1, is klauspost/compress's fastest encoder; 6 selects its
// "better compression" one. The public set's 1.3-hour store (27 works,
// compacted) took 6.51 MB of tables at level 1, 6.34 at 3, 6.19 at 6 and
// 9 (4.9 % less), 5.95 at 12 and 15 (the "best" encoder, 8.6 % less, and
// several times slower to compress). Reading is as fast whatever the
// level: ZSTD decompresses every level alike. Tables are compressed when
// memtables are flushed and when levels are compacted, so a store
// registered one work at a time pays the encoder more than once per byte:
// 6 takes most of the gain at a fraction of the best encoder's cost. The
// level changes nothing in the format; stores written at another level
// are read as they are and recompressed as they are compacted.
const zstdLevel = 6

// Open opens (creating if needed) the store in dir.
//
// When the disk holding an existing store has less free space than
// Options.MinFreeBytes, the store is opened read-only (Writable reports
// false; writes fail with ErrInsufficientStorage) rather than risking a
// crash: a read-write open flushes and compacts. A new store is not
// created on such a disk.
func Open(ctx context.Context, dir string, o Options) (s *Store, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	minFree := o.MinFreeBytes
	if minFree == 0 {
		minFree = DefaultMinFreeBytes
	}
	freeSpace := o.FreeSpace
	if freeSpace == nil {
		freeSpace = diskFree
	}
	bo := tableOptions(dir, logger).
		WithSyncWrites(true). // an acknowledged write survives kill -9 and power loss
		WithMemTableSize(memTableBytes).
		WithNumMemtables(2).
		WithBlockCacheSize(64 << 20)
	if o.CacheBytes > 0 {
		bo = bo.WithBlockCacheSize(o.CacheBytes)
	}
	readOnly, lowSpace := o.ReadOnly, int64(-1)
	if o.InMemory {
		bo = bo.WithInMemory(true).WithDir("").WithValueDir("")
		readOnly, minFree = false, 0
	} else {
		if _, err := os.Stat(filepath.Join(dir, buildMarker)); err == nil {
			return nil, fmt.Errorf("open index %s: %w: remove the directory and build again", dir, ErrIncompleteBuild)
		}
		if !readOnly && minFree > 0 {
			if free, err := freeSpace(existingDir(dir)); err == nil && free < minFree {
				if !Exists(dir) {
					return nil, fmt.Errorf("open index %s: %w", dir, &SpaceError{Dir: dir, FreeBytes: free, NeedBytes: minFree, NotCreated: true})
				}
				logger.Warn("disk below the free-space reserve: store opened read-only", "path", dir,
					"free_bytes", free, "reserve_bytes", minFree)
				readOnly, lowSpace = true, free
			}
		}
		if !readOnly {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open index %s: %w", dir, err)
			}
			if err := removeEmptyMemtables(dir); err != nil {
				return nil, fmt.Errorf("open index %s: %w", dir, err)
			}
		} else if !Exists(dir) {
			return nil, fmt.Errorf("open index %s: %w: no store there to open read-only", dir, os.ErrNotExist)
		}
		bo = bo.WithReadOnly(readOnly)
	}
	db, err := badger.Open(bo)
	// Badger formats the errors it wraps: match the sentinel's text too.
	if err != nil && (errors.Is(err, badger.ErrTruncateNeeded) || strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error())) {
		return nil, fmt.Errorf("open index %s: %w: the store was not closed cleanly, and replaying its write-ahead log needs free space (below the reserve it is opened read-only, which cannot replay it): free disk space and open it again", dir, ErrInsufficientStorage)
	}
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	if !readOnly && !o.InMemory {
		if err := restrictPermissions(dir); err != nil {
			return nil, errors.Join(fmt.Errorf("open index %s: permissions: %w", dir, err), db.Close())
		}
	}
	cacheBytes := o.PostingsCacheBytes
	if cacheBytes == 0 {
		cacheBytes = 1 << 30
	}
	s = &Store{db: db, params: o.Params, video: o.videoParams(), log: logger, dir: dir, live: roaring.New(),
		cache: newPostingsCache(max(cacheBytes, 0)), readOnly: readOnly, migrating: o.migrate, lowSpaceAtOpen: lowSpace, minFree: minFree, freeSpace: freeSpace}
	s.seg.init(o.SegmentMergeKeys, o.postingsMemoryBytes())
	if o.InMemory {
		s.dir = ""
	}
	stopMerges := s.seg.cancel // s is nil in the deferred call when an error is returned
	defer func() {
		if err != nil {
			stopMerges()
			err = errors.Join(err, db.Close())
			s = nil
		}
	}()
	if !readOnly {
		if err := s.scopeWorkKeys(ctx); err != nil {
			return nil, fmt.Errorf("open index %s: upgrade to format %d: %w", dir, FormatV5, err)
		}
	}
	if err := s.checkMeta(); err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	if !readOnly {
		if err := s.recover(ctx); err != nil {
			return nil, fmt.Errorf("open index %s: recover: %w", dir, err)
		}
	}
	if err := s.loadLive(); err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	return s, nil
}

// Close closes the store. It is safe to call twice.
func (s *Store) Close() error {
	// A merge waits for the write lock: stop it before taking it.
	s.seg.stopMerges()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// Params returns the fingerprint parameters of the store.
func (s *Store) Params() fingerprint.AudioParams { return s.params }

// VideoParams returns the video fingerprint parameters of the store.
func (s *Store) VideoParams() fingerprint.VideoParams { return s.video }

func (s *Store) checkMeta() error {
	update := s.db.Update
	if s.readOnly {
		update = s.db.View
	}
	return update(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey())
		if errors.Is(err, badger.ErrKeyNotFound) {
			if s.readOnly {
				return fmt.Errorf("%w: no meta record", ErrCorrupt)
			}
			return txn.Set(metaKey(), metaRecord(s.params.Hash(), s.video.Hash()))
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) < 16 || !bytes.Equal(v[:4], magic[:]) {
			return fmt.Errorf("%w: bad meta record (%d bytes)", ErrCorrupt, len(v))
		}
		ver := binary.BigEndian.Uint32(v[4:])
		switch {
		case ver == FormatV1 && len(v) == 16:
		case ver >= FormatV2 && ver <= FormatV6 && len(v) == 24:
			if h := binary.BigEndian.Uint64(v[16:]); h != s.video.Hash() && holdsVideo(txn) {
				return fmt.Errorf("%w: video: store %016x, requested %016x", ErrParamsMismatch, h, s.video.Hash())
			}
		case ver >= FormatV1 && ver <= FormatV6:
			return fmt.Errorf("%w: meta record of version %d has %d bytes", ErrCorrupt, ver, len(v))
		default:
			return fmt.Errorf("%w: store has version %d, this binary reads %d to %d", ErrUnsupportedFormat, ver, FormatV1, FormatCurrent)
		}
		if h := binary.BigEndian.Uint64(v[8:]); h != s.params.Hash() {
			// Prints hold only what their parameters kept (a band, a peak
			// density), so they cannot be converted: the works must be
			// fingerprinted again from their media.
			return fmt.Errorf("%w: store %016x, requested %016x (a store made with other audio parameters, e.g. by an older cueprint: register its works again into a new store)",
				ErrParamsMismatch, h, s.params.Hash())
		}
		if ver < FormatV6 {
			// Postings without triplet keys: only Migrate may open the
			// store, and it writes the record when it is done.
			if !s.migrating {
				where := s.dir
				if where == "" {
					where = "DIR"
				}
				return fmt.Errorf("%w: format %d, without the triplet keys this binary searches by: run `cueprint migrate --db %s` (it adds them from the stored prints; no media is needed)",
					ErrNeedsMigration, ver, where)
			}
			s.oldFormat = ver
			return nil
		}
		// The record is rewritten when it differs from what this binary
		// writes: a V1 store holds no video key, a V2 store no short
		// postings list and a V3 store no motion section, so each is a V4
		// store as it is, once its meta record says so; a store holding no video print takes new video
		// parameters, since no print was made with the old ones.
		if want := metaRecord(s.params.Hash(), s.video.Hash()); !bytes.Equal(v, want) && !s.readOnly {
			return txn.Set(metaKey(), want)
		}
		return nil
	})
}

// holdsVideo reports whether the store has any video print (a `v` key;
// deleted works leave none).
func holdsVideo(txn *badger.Txn) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixVideo}, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

func (s *Store) loadLive() error {
	live := roaring.New()
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixNum}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 5 {
				return fmt.Errorf("%w: num key of %d bytes", ErrCorrupt, len(k))
			}
			live.Add(binary.BigEndian.Uint32(k[1:]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.live = live
	s.liveChanged()
	s.mu.Unlock()
	return nil
}

// recover finishes every interrupted registration or deletion (FORMAT.md#pending).
func (s *Store) recover(ctx context.Context) error {
	var pending []uint32
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPending}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 5 {
				return fmt.Errorf("%w: pending key of %d bytes", ErrCorrupt, len(k))
			}
			pending = append(pending, binary.BigEndian.Uint32(k[1:]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, num := range pending {
		s.log.Info("finishing interrupted operation", "work_num", num)
		if err := s.purge(ctx, num); err != nil {
			return err
		}
	}
	return nil
}

// Live returns the number of registered works.
func (s *Store) Live() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live.GetCardinality()
}

// MaxLive returns the largest live work number, 0 when the store is empty.
func (s *Store) MaxLive() uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.live.IsEmpty() {
		return 0
	}
	return s.live.Maximum()
}

// liveBits is a dense bit set of work numbers.
type liveBits []uint64

func (b liveBits) has(n uint32) bool {
	i := int(n >> 6)
	return i < len(b) && b[i]&(1<<(n&63)) != 0
}

// liveChanged marks the dense snapshot stale; s.mu must be held for
// writing.
func (s *Store) liveChanged() {
	s.liveBits = nil
	s.liveGen++
}

// liveSnapshot returns a dense snapshot of the live set, building it if
// the set changed since the last one (one pass over the live numbers).
func (s *Store) liveSnapshot() (liveBits, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	if b := s.liveBits; b != nil {
		s.mu.RUnlock()
		return b, nil
	}
	n := 0
	if !s.live.IsEmpty() {
		n = int(s.live.Maximum()>>6) + 1
	}
	b := make(liveBits, n)
	s.live.Iterate(func(x uint32) bool {
		b[x>>6] |= 1 << (x & 63)
		return true
	})
	gen := s.liveGen
	s.mu.RUnlock()
	s.mu.Lock()
	if s.liveGen == gen {
		s.liveBits = b
	}
	s.mu.Unlock()
	return b, nil
}

// IsLive reports whether work number num is registered.
func (s *Store) IsLive(num uint32) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live.Contains(num)
}

// Register stores work w with the print's peaks. With replace, an existing
// work of the same ID is replaced atomically; without, it is refused with
// ErrExists. The returned Work carries the stored record.
func (s *Store) Register(ctx context.Context, w Work, peaks []fingerprint.Peak, replace bool) (Work, error) {
	return s.RegisterChecked(ctx, w, peaks, replace, nil)
}

// RegisterChecked is Register with a precondition: when a work of the same
// ID exists, check (if not nil) is called with it, under the store's write
// lock, and an error it returns refuses the registration. The HTTP API
// uses it so that one tenant cannot replace another's work.
func (s *Store) RegisterChecked(ctx context.Context, w Work, peaks []fingerprint.Peak, replace bool, check func(existing Work) error) (Work, error) {
	return s.RegisterPrints(ctx, w, Prints{Audio: peaks}, replace, check)
}

// Prints are the fingerprints of one work: audio peaks, video frames, or
// both (a work registered from a video file with sound).
type Prints struct {
	Audio []fingerprint.Peak
	Video []fingerprint.VideoFrameHashes
}

// RegisterPrints is RegisterChecked for a work with audio and/or video
// prints. At least one must be non-empty.
func (s *Store) RegisterPrints(ctx context.Context, w Work, pr Prints, replace bool, check func(existing Work) error) (Work, error) {
	peaks := pr.Audio
	if len(pr.Audio) == 0 && len(pr.Video) == 0 {
		return Work{}, fmt.Errorf("register %q: %w: no audio or video print", w.ID, ErrInvalidWork)
	}
	if err := w.Validate(); err != nil {
		return Work{}, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.checkOpen(); err != nil {
		return Work{}, err
	}
	groups := s.groups(peaks, pr.Video)
	fwd := fingerprint.AppendPeaks(nil, peaks)
	var vid []byte
	if len(pr.Video) > 0 {
		vid = fingerprint.AppendVideoPrint(nil, pr.Video)
	}
	if err := s.checkSpace(writeEstimate(len(groups), len(fwd)+len(vid))); err != nil {
		return Work{}, fmt.Errorf("register %q: %w", w.ID, err)
	}
	old, err := s.GetIn(w.Tenant, w.ID)
	switch {
	case err == nil && !replace:
		return Work{}, fmt.Errorf("register %q: %w (registered %s; replacing it must be asked for)", w.ID, ErrExists, old.RegisteredAt.Format(time.RFC3339))
	case err != nil && !errors.Is(err, ErrNotFound):
		return Work{}, fmt.Errorf("register %q: %w", w.ID, err)
	}
	hadOld := err == nil
	if hadOld && check != nil {
		if err := check(old); err != nil {
			return Work{}, err
		}
	}

	// Step 1: allocate the number, mark it pending, store the forward print.
	var num uint32
	err = s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(counterKey())
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			num = 1
		case err != nil:
			return err
		default:
			if err := item.Value(func(v []byte) error {
				if len(v) != 4 {
					return fmt.Errorf("%w: counter of %d bytes", ErrCorrupt, len(v))
				}
				num = binary.BigEndian.Uint32(v)
				return nil
			}); err != nil {
				return err
			}
		}
		if num == 0 || num == ^uint32(0) {
			return fmt.Errorf("%w: work numbers exhausted", ErrCorrupt)
		}
		next := make([]byte, 4)
		binary.BigEndian.PutUint32(next, num+1)
		if err := txn.Set(counterKey(), next); err != nil {
			return err
		}
		if err := txn.Set(numKey(prefixPending, num), []byte{pendingRegister}); err != nil {
			return err
		}
		if len(vid) > 0 {
			if err := txn.Set(numKey(prefixVideo, num), vid); err != nil {
				return err
			}
		}
		return txn.Set(numKey(prefixForward, num), fwd)
	})
	if err != nil {
		return Work{}, fmt.Errorf("register %q: %w", w.ID, err)
	}

	// Step 2: postings.
	if err := s.updatePostings(ctx, num, groups); err != nil {
		return Work{}, errors.Join(fmt.Errorf("register %q: %w", w.ID, err), s.purge(context.WithoutCancel(ctx), num))
	}

	// Step 3: make it live (and retire the old number) in one commit.
	w.Num = num
	w.Peaks = len(peaks)
	w.Hashes = len(groups)
	w.VideoFrames = len(pr.Video)
	w.RegisteredAt = time.Now().UTC().Truncate(time.Millisecond)
	rec, err := json.Marshal(w)
	if err != nil {
		return Work{}, fmt.Errorf("register %q: %w", w.ID, err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(workKey(w.Tenant, w.ID), rec); err != nil {
			return err
		}
		if err := txn.Set(numKey(prefixNum, num), workName(w.Tenant, w.ID)); err != nil {
			return err
		}
		if err := txn.Delete(numKey(prefixPending, num)); err != nil {
			return err
		}
		if hadOld {
			if err := txn.Delete(numKey(prefixNum, old.Num)); err != nil {
				return err
			}
			return txn.Set(numKey(prefixPending, old.Num), []byte{pendingDelete})
		}
		return nil
	})
	if err != nil {
		return Work{}, errors.Join(fmt.Errorf("register %q: commit: %w", w.ID, err), s.purge(context.WithoutCancel(ctx), num))
	}
	s.mu.Lock()
	s.live.Add(num)
	if hadOld {
		s.live.Remove(old.Num)
	}
	s.liveChanged()
	s.mu.Unlock()
	if hadOld {
		// The new work is already live; an error here leaves the old
		// number pending, finished at the next open.
		if err := s.purge(context.WithoutCancel(ctx), old.Num); err != nil {
			s.log.Warn("old postings not yet removed", "item_id", w.ID, "err", err)
		}
	}
	return w, nil
}

// Delete removes the work with the given ID (of no tenant) from every
// later result.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.DeleteChecked(ctx, "", id, nil)
}

// DeleteChecked removes tenant's work id, with a precondition: check (if
// not nil) is called with the work under the store's write lock, and an
// error it returns refuses the deletion.
func (s *Store) DeleteChecked(ctx context.Context, tenant, id string, check func(Work) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.checkOpen(); err != nil {
		return err
	}
	w, err := s.GetIn(tenant, id)
	if err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	if check != nil {
		if err := check(w); err != nil {
			return err
		}
	}
	// Removing a work rewrites every postings list it is in, as
	// registering it did.
	if err := s.checkSpace(writeEstimate(w.Hashes, 0)); err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(workKey(tenant, id)); err != nil {
			return err
		}
		if err := txn.Delete(numKey(prefixNum, w.Num)); err != nil {
			return err
		}
		return txn.Set(numKey(prefixPending, w.Num), []byte{pendingDelete})
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	s.mu.Lock()
	s.live.Remove(w.Num)
	s.liveChanged()
	s.mu.Unlock()
	if err := s.purge(context.WithoutCancel(ctx), w.Num); err != nil {
		s.log.Warn("postings not yet removed; finished at next open", "item_id", id, "err", err)
	}
	return nil
}

// purge removes work number num's postings, forward print and pending
// marker. It is idempotent.
func (s *Store) purge(ctx context.Context, num uint32) error {
	peaks, err := s.forwardPrint(num)
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	if err != nil {
		return err
	}
	frames, err := s.videoPrint(num)
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	if err != nil {
		return err
	}
	if len(peaks) > 0 || len(frames) > 0 {
		groups := s.groups(peaks, frames)
		for i := range groups {
			groups[i].times = nil // remove
		}
		if err := s.updatePostings(ctx, num, groups); err != nil {
			return err
		}
	}
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(numKey(prefixForward, num)); err != nil {
			return err
		}
		if err := txn.Delete(numKey(prefixVideo, num)); err != nil {
			return err
		}
		return txn.Delete(numKey(prefixPending, num))
	})
}

// groups returns the postings of a work's prints, in key order: the audio
// print's pair hashes and triplet keys, and the video keys
// (fingerprint.VideoKeySpace).
func (s *Store) groups(peaks []fingerprint.Peak, frames []fingerprint.VideoFrameHashes) []hashTimes {
	return groupKeys(append(audioKeys(s.params, peaks), videoKeys(frames)...))
}

// keyTime is one posting of a work: an index key and the time the
// work holds it at.
type keyTime struct {
	key  uint32
	time uint32
}

// audioKeys returns an audio print's postings: its pair hashes at their
// anchor times (whole frames), and its triplet keys (tripletKeys). The
// peaks must be quantised as the forward print stores them, so that the
// keys recomputed from it (deletion, migration, alignment) are these.
func audioKeys(p fingerprint.AudioParams, peaks []fingerprint.Peak) []keyTime {
	lms := p.Landmarks(peaks)
	out := make([]keyTime, 0, len(lms)+len(peaks))
	for _, lm := range lms {
		out = append(out, keyTime{lm.Hash, uint32(max(lm.Time, 0))})
	}
	return append(out, tripletKeys(p, peaks)...)
}

// tripletKeys returns an audio print's triplet keys at
// fingerprint.TripletTime (anchor and span).
func tripletKeys(p fingerprint.AudioParams, peaks []fingerprint.Peak) []keyTime {
	tris := p.RefTriplets(peaks)
	out := make([]keyTime, 0, len(tris))
	for _, t := range tris {
		out = append(out, keyTime{t.Key, fingerprint.TripletTime(t)})
	}
	return out
}

// videoKeys returns a video print's postings: each band key of each
// frame's hashes at the frame's index.
func videoKeys(frames []fingerprint.VideoFrameHashes) []keyTime {
	var out []keyTime
	var keys []uint32
	for _, f := range frames {
		for _, h := range f.Hashes {
			keys = fingerprint.VideoKeys(h, keys[:0])
			for _, k := range keys {
				out = append(out, keyTime{k, uint32(f.Index)})
			}
		}
	}
	return out
}

// hashTimes is one key of a work and the times (whole frames, or packed
// as fingerprint.TripletTime) at which the work holds it.
type hashTimes struct {
	hash  uint32
	times []uint32
}

// groupKeys groups postings by key, in key order, with sorted, distinct
// times. It sorts kts.
func groupKeys(kts []keyTime) []hashTimes {
	slices.SortFunc(kts, func(x, y keyTime) int {
		return cmp.Or(cmp.Compare(x.key, y.key), cmp.Compare(x.time, y.time))
	})
	var out []hashTimes
	for _, kt := range kts {
		if n := len(out); n > 0 && out[n-1].hash == kt.key {
			if ts := out[n-1].times; ts[len(ts)-1] != kt.time {
				out[n-1].times = append(ts, kt.time)
			}
			continue
		}
		out = append(out, hashTimes{hash: kt.key, times: []uint32{kt.time}})
	}
	return out
}

// updatePostings sets work num's times in the postings of every hash of
// groups (nil times remove num), in batches of postingsBatch keys per
// transaction.
func (s *Store) updatePostings(ctx context.Context, num uint32, groups []hashTimes) error {
	var pl postingList
	for start := 0; start < len(groups); start += postingsBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := groups[start:min(len(groups), start+postingsBatch)]
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, g := range batch {
				key := postingsKey(g.hash)
				pl.works, pl.times = pl.works[:0], pl.times[:0]
				item, err := txn.Get(key)
				switch {
				case errors.Is(err, badger.ErrKeyNotFound):
				case err != nil:
					return err
				default:
					if err := item.Value(func(v []byte) error { return decodePostings(v, &pl, nil) }); err != nil {
						return fmt.Errorf("postings of hash %d: %w", g.hash, err)
					}
				}
				pl.set(num, g.times)
				s.cache.drop(g.hash)
				s.seg.markDirty(g.hash)
				if len(pl.works) == 0 {
					if err := txn.Delete(key); err != nil {
						return err
					}
					continue
				}
				if err := txn.Set(key, encodePostings(&pl)); err != nil {
					return err
				}
			}
			return nil
		})
		s.gen.Add(1)
		if err != nil {
			return err
		}
	}
	s.maybeMerge()
	return nil
}

// writeEstimate is the bytes a write of n postings lists and extra bytes
// of prints adds to the store before compaction: each rewritten list is
// written whole to the write-ahead log and again to an L0 table; 64 bytes
// is well above a list's mean size in a catalogue of a few thousand hours.
func writeEstimate(lists, extra int) int64 {
	return 2 * (64*int64(lists) + int64(extra))
}

func (s *Store) checkOpen() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Compact rewrites the store's tables into one level (Badger's Flatten),
// dropping every superseded version of a postings value. Registering a work
// rewrites the postings of each of its hashes, and Badger only discards
// the older versions when a compaction happens to merge the levels they
// sit on: a store fresh from registering a catalogue one work at a time
// holds about half as much again as its live data (62 MB for 40 MB on the
// 12-hour benchmark store). Large stores reach a steady state on their own;
// Compact is for a freshly registered catalogue and before measuring size.
// Registrations and deletions wait while it runs, matching does not; it
// cannot be interrupted once started, so ctx is checked first only.
func (s *Store) Compact(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Flatten writes the whole store again before it drops the old tables.
	if err := s.checkSpace(s.SizeBytes()); err != nil {
		return fmt.Errorf("compact index %s: %w", s.dir, err)
	}
	// One worker: a second one finds nothing to do on most levels and
	// logs a warning saying so.
	if err := s.db.Flatten(1); err != nil {
		return fmt.Errorf("compact index %s: %w", s.dir, err)
	}
	return nil
}

// Dir returns the store's directory ("" in memory).
func (s *Store) Dir() string { return s.dir }

// Stats is a snapshot of the store's state, for metrics.
type Stats struct {
	// Works is the number of registered works.
	Works uint64
	// LSMBytes and ValueLogBytes are Badger's own size estimates, updated
	// by Badger about once a minute.
	LSMBytes, ValueLogBytes int64
	// PostingsCacheBytes is the memory held by decoded postings;
	// PostingsCacheHits and PostingsCacheMisses count lookups since Open.
	PostingsCacheBytes                     int64
	PostingsCacheHits, PostingsCacheMisses int64
	// SegmentLists and SegmentBytes describe the in-memory postings
	// segment (0 until LoadPostings); SegmentDirtyKeys are the keys
	// written since it was built, read from Badger until the next merge;
	// SegmentMerges counts the segments built since Open.
	SegmentLists, SegmentBytes      int64
	SegmentDirtyKeys, SegmentMerges int64
	// SegmentComplete is false when the segment was cut at its memory
	// budget (Options.PostingsMemoryBytes).
	SegmentComplete bool
	// Closed is set once Close has been called.
	Closed bool
	// Writable is false for a store opened read-only (on request, or
	// because its disk was below the reserve when it was opened).
	Writable bool
	// DiskFreeBytes is the free space on the store's disk (-1: unknown or
	// in memory); DiskReserveBytes is what writes must leave free (0: no
	// guard). LowDisk is set while writes are refused for space: the
	// disk is below the reserve, or the last write needed more than is
	// free and no space has appeared since.
	DiskFreeBytes, DiskReserveBytes int64
	LowDisk                         bool
	// WritesRefused counts writes refused for lack of space since Open.
	WritesRefused int64
}

// Stats returns a snapshot of the store's state.
func (s *Store) Stats() Stats {
	st := Stats{Works: s.Live()}
	s.mu.RLock() // Close waits for it
	closed := s.closed
	if !closed {
		st.LSMBytes, st.ValueLogBytes = s.db.Size()
	}
	s.mu.RUnlock()
	st.PostingsCacheBytes = s.cache.bytes()
	st.PostingsCacheHits, st.PostingsCacheMisses = s.cache.hits.Load(), s.cache.misses.Load()
	st.SegmentLists, st.SegmentBytes, st.SegmentDirtyKeys, st.SegmentMerges, st.SegmentComplete = s.seg.stats()
	st.Closed = closed
	st.Writable = !s.readOnly
	st.DiskFreeBytes, st.DiskReserveBytes = s.freeBytes(), max(s.minFree, 0)
	st.LowDisk = s.lowDisk(st.DiskFreeBytes)
	st.WritesRefused = s.refusedWrites.Load()
	return st
}

// Writable reports whether the store accepts writes (it was not opened
// read-only); writes may still be refused for lack of space.
func (s *Store) Writable() bool { return !s.readOnly }

// SizeBytes returns the bytes the store's files take on disk.
func (s *Store) SizeBytes() int64 {
	if s.dir == "" {
		lsm, vlog := s.db.Size()
		return lsm + vlog
	}
	return DirSize(s.dir)
}

// DirSize returns the bytes the files under dir take on disk (allocated
// blocks, as du counts them).
func DirSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += diskUsage(fi)
			}
		}
		return nil
	})
	return total
}

// badgerLogger routes Badger's logs to slog; its chatty Info and Debug
// lines go to Debug.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger", "msg", fmt.Sprintf(f, a...))
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger", "msg", fmt.Sprintf(f, a...))
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug("badger", "msg", fmt.Sprintf(f, a...))
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug("badger", "msg", fmt.Sprintf(f, a...))
}

// videoPrint reads work number num's stored video print, live or not.
func (s *Store) videoPrint(num uint32) ([]fingerprint.VideoFrameHashes, error) {
	return readPrint(s, prefixVideo, num, "video print", fingerprint.DecodeVideoPrint)
}

// forwardPrint reads work number num's stored peaks, live or not.
func (s *Store) forwardPrint(num uint32) ([]fingerprint.Peak, error) {
	return readPrint(s, prefixForward, num, "forward print", fingerprint.DecodePeaks)
}

// readPrint reads and decodes the record of work number num under
// prefix (a print: what names it in errors).
func readPrint[T any](s *Store, prefix byte, num uint32, what string, decode func([]byte) (T, error)) (T, error) {
	var out T
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(numKey(prefix, num))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s of number %d", ErrNotFound, what, num)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			p, err := decode(v)
			if err != nil {
				return fmt.Errorf("%w: %s of work %d: %w", ErrCorrupt, what, num, err)
			}
			out = p
			return nil
		})
	})
	return out, err
}
