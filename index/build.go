package index

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/cueprint/cueprint/fingerprint"
)

// buildMarker is the file a bulk build keeps in the store directory until
// its last write is durable; Open refuses a directory holding it.
const buildMarker = "BUILDING"

// ErrIncompleteBuild: the store directory holds a bulk build that did not
// finish (it was interrupted); it must be removed and built again.
var ErrIncompleteBuild = errors.New("index: incomplete bulk build")

// BuildSource yields the works of a bulk build. Work(i), for i in [0, Len),
// must be safe to call from several goroutines at once (it is called once
// per i). An error skips that work: Build reports it through
// BuildOptions.OnSkip and goes on.
type BuildSource interface {
	Len() int
	Work(ctx context.Context, i int) (Work, []fingerprint.Peak, error)
}

// BuildOptions tune a bulk build.
type BuildOptions struct {
	// Workers hash prints in parallel (0: one per core).
	Workers int
	// TempDir holds the sorted runs (0: a directory next to the store).
	TempDir string
	// RunPostings is how many postings a worker sorts in memory before it
	// writes a run (12 bytes each, twice). The default value is 16 << 20
	// (some 400 MB a worker): few enough runs that merging them is cheap.
	RunPostings int
	// OnSkip is told of every work the source could not give (nil: the
	// build fails on the first one instead).
	OnSkip func(i int, err error)
	// Progress, if not nil, is called now and then with the works hashed.
	Progress func(done int)
}

// BuildStats describe a finished bulk build.
type BuildStats struct {
	Works    int           // registered
	Skipped  int           // refused by the source or by validation
	Postings int64         // (hash, work, time) entries written
	Hashes   int           // distinct hashes
	RunBytes int64         // size of the temporary sorted runs
	HashTime time.Duration // phase 1: hashing and sorting into runs
	LoadTime time.Duration // phase 2: merging the runs into the store
}

// Build creates a new store in dir (which must not exist or be empty) from
// every work of src, the way a catalogue's first ingest should be done: far
// faster than registering works one by one, because no postings list is
// ever read back and rewritten.
//
// Phase 1: workers hash contiguous ranges of works and sort their postings
// by hash (a counting sort, stable, so work numbers and times stay sorted)
// into runs on disk, each run holding one range. Phase 2: the runs are
// merged hash by hash (concatenating the runs in range order keeps work
// numbers ascending) and written with Badger's StreamWriter straight into
// sorted tables, with the forward prints and work-number keys; the work
// records follow in a write batch. The directory holds a BUILDING marker
// until the last write is synced: Open refuses a store whose build did not
// finish (ErrIncompleteBuild), so a crash never leaves a half-built store
// that looks whole.
//
// Work numbers are given in source order from 1. IDs must be distinct; a
// duplicate is skipped like a work the source could not give.
func Build(ctx context.Context, dir string, o Options, src BuildSource, bo BuildOptions) (*BuildStats, error) {
	if err := o.Params.Validate(); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("build index %s: directory is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, buildMarker), []byte("bulk build in progress\n"), 0o644); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	if bo.Workers <= 0 {
		bo.Workers = runtime.NumCPU()
	}
	if bo.RunPostings <= 0 {
		bo.RunPostings = 16 << 20
	}
	tmp := bo.TempDir
	if tmp == "" {
		tmp = filepath.Clean(dir) + ".build"
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	runDir, err := os.MkdirTemp(tmp, "runs-")
	if err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	defer func() {
		_ = os.RemoveAll(runDir)
		if bo.TempDir == "" {
			_ = os.Remove(tmp)
		}
	}()

	b := &builder{p: o.Params, vhash: o.videoParams().Hash(), src: src, bo: bo, dir: runDir, stats: &BuildStats{}}
	t0 := time.Now()
	if err := b.hashAll(ctx); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	b.stats.HashTime = time.Since(t0)
	t0 = time.Now()
	if err := b.load(ctx, dir, o); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	b.stats.LoadTime = time.Since(t0)
	if err := os.Remove(filepath.Join(dir, buildMarker)); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("build index %s: %w", dir, err)
	}
	return b.stats, nil
}

// builder is one bulk build in progress.
type builder struct {
	vhash uint64 // the video parameters' hash, for the meta record
	p     fingerprint.AudioParams
	src   BuildSource
	bo    BuildOptions
	dir   string
	stats *BuildStats

	mu   sync.Mutex
	runs []*run // by first work index
	ids  map[string]int
	done int
}

// run is one worker's sorted range of works on disk. Postings file:
// per key, ascending in the dense numbering of buildKeys: <uvarint key delta><uvarint works>, then per work
// <uvarint num delta><uvarint count><uvarint time deltas...>. Works file:
// per work, in order: <uvarint num>, then three <uvarint len><bytes>
// chunks: the forward print, the ID and the work record (JSON).
type run struct {
	first    int // first source index of the range
	postings string
	works    string
}

// hashAll runs phase 1: ranges of works are handed to workers, each
// writing one or more runs.
func (b *builder) hashAll(ctx context.Context) error {
	n := b.src.Len()
	b.ids = make(map[string]int, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Ranges small enough to balance the workers (16 a worker), large
	// enough that runs fill up (a run is cut at RunPostings inside a range).
	rangeWorks := max(64, n/(16*b.bo.Workers)+1)
	next := make(chan int)
	errc := make(chan error, b.bo.Workers)
	var wg sync.WaitGroup
	for range b.bo.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &hashWorker{b: b}
			for first := range next {
				if err := w.hashRange(ctx, first, min(n, first+rangeWorks)); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for first := 0; first < n; first += rangeWorks {
		select {
		case next <- first:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}

// posting is one (hash, work, time) entry.
type posting struct{ hash, num, time uint32 }

// hashWorker hashes ranges of works; its buffers are reused.
type hashWorker struct {
	b       *builder
	buf     []posting
	sorted  []posting
	counts  []uint32
	enc     []byte
	records []byte
}

// hashRange hashes works [first, end) and writes them as one run. Work
// numbers are source index + 1.
func (w *hashWorker) hashRange(ctx context.Context, first, end int) error {
	b := w.b
	w.buf = w.buf[:0]
	w.records = w.records[:0]
	runFirst := first
	for i := first; i < end; i++ {
		if len(w.buf) >= b.bo.RunPostings {
			if err := w.flushRun(runFirst, i); err != nil {
				return err
			}
			runFirst = i
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		work, peaks, err := b.src.Work(ctx, i)
		if err == nil {
			err = work.Validate()
		}
		if err == nil {
			work.Normalize()
			b.mu.Lock()
			if prev, dup := b.ids[work.ID]; dup {
				err = fmt.Errorf("%w: id %q is also work %d of the source", ErrExists, work.ID, prev)
			} else {
				b.ids[work.ID] = i
			}
			b.mu.Unlock()
		}
		if err != nil {
			if b.bo.OnSkip == nil {
				return fmt.Errorf("work %d: %w", i, err)
			}
			b.mu.Lock()
			b.stats.Skipped++
			b.bo.OnSkip(i, err)
			b.mu.Unlock()
			continue
		}
		num := uint32(i + 1)
		// Quantised as the forward print stores them, so hashes recomputed
		// from it (deletion, alignment) equal the ones written here.
		for k := range peaks {
			peaks[k].Time = fingerprint.QuantizeTime(peaks[k].Time)
			peaks[k].Pitch = fingerprint.QuantizePitch(peaks[k].Pitch)
			peaks[k].Strength = fingerprint.QuantizeStrength(peaks[k].Strength)
		}
		groups := groupKeys(audioKeys(b.p, peaks))
		for _, g := range groups {
			for _, t := range g.times {
				w.buf = append(w.buf, posting{g.hash, num, t})
			}
		}
		work.Num = num
		work.Peaks = len(peaks)
		work.Hashes = len(groups)
		work.RegisteredAt = time.Now().UTC().Truncate(time.Millisecond)
		rec, err := json.Marshal(work)
		if err != nil {
			return fmt.Errorf("work %q: %w", work.ID, err)
		}
		fwd := fingerprint.AppendPeaks(nil, peaks)
		w.records = binary.AppendUvarint(w.records, uint64(num))
		for _, chunk := range [][]byte{fwd, workName(work.Tenant, work.ID), rec} {
			w.records = binary.AppendUvarint(w.records, uint64(len(chunk)))
			w.records = append(w.records, chunk...)
		}
	}
	return w.flushRun(runFirst, end)
}

// flushRun writes the works [first, end) hashed so far as one run.
func (w *hashWorker) flushRun(first, end int) error {
	b := w.b
	r, err := w.writeRun(first)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.runs = append(b.runs, r)
	b.stats.Postings += int64(len(w.buf))
	b.done += end - first
	done := b.done
	b.mu.Unlock()
	w.buf = w.buf[:0]
	w.records = w.records[:0]
	if b.bo.Progress != nil {
		b.bo.Progress(done)
	}
	return nil
}

// buildKeys is the size of the dense numbering of the audio keys a build
// writes (a build holds no video): the pair hashes, then the triplet keys.
// Runs are sorted and written in this numbering, which keeps key order.
const buildKeys = 1<<fingerprint.HashBits + 1<<fingerprint.TripletBits

// denseKey numbers an audio key densely (see buildKeys).
func denseKey(k uint32) uint32 {
	if fingerprint.IsTripletKey(k) {
		return 1<<fingerprint.HashBits + k&(1<<fingerprint.TripletBits-1)
	}
	return k
}

// sparseKey undoes denseKey.
func sparseKey(d uint32) uint32 {
	if d >= 1<<fingerprint.HashBits {
		return fingerprint.TripletKeySpace | (d - 1<<fingerprint.HashBits)
	}
	return d
}

// writeRun sorts the worker's postings by hash (a stable counting sort:
// within a hash, entries keep their work and time order) and writes them
// and the works' records as run first.
func (w *hashWorker) writeRun(first int) (*run, error) {
	if w.counts == nil {
		w.counts = make([]uint32, buildKeys+1)
	}
	clear(w.counts)
	for _, p := range w.buf {
		w.counts[denseKey(p.hash)+1]++
	}
	for h := 1; h < len(w.counts); h++ {
		w.counts[h] += w.counts[h-1]
	}
	if cap(w.sorted) < len(w.buf) {
		w.sorted = make([]posting, len(w.buf))
	}
	w.sorted = w.sorted[:len(w.buf)]
	for _, p := range w.buf {
		d := denseKey(p.hash)
		w.sorted[w.counts[d]] = p
		w.counts[d]++
	}
	r := &run{first: first,
		postings: filepath.Join(w.b.dir, fmt.Sprintf("%09d.postings", first)),
		works:    filepath.Join(w.b.dir, fmt.Sprintf("%09d.works", first))}
	enc := w.enc[:0]
	prevHash := uint32(0)
	for i := 0; i < len(w.sorted); {
		key := w.sorted[i].hash
		h := denseKey(key)
		j := i
		nWorks := 0
		for j < len(w.sorted) && w.sorted[j].hash == key {
			if j == i || w.sorted[j].num != w.sorted[j-1].num {
				nWorks++
			}
			j++
		}
		enc = binary.AppendUvarint(enc, uint64(h-prevHash))
		enc = binary.AppendUvarint(enc, uint64(nWorks))
		prevHash = h
		prevNum := uint32(0)
		for k := i; k < j; {
			num := w.sorted[k].num
			e := k
			for e < j && w.sorted[e].num == num {
				e++
			}
			enc = binary.AppendUvarint(enc, uint64(num-prevNum))
			enc = binary.AppendUvarint(enc, uint64(e-k))
			prevNum = num
			prevT := uint32(0)
			for _, p := range w.sorted[k:e] {
				enc = binary.AppendUvarint(enc, uint64(p.time-prevT))
				prevT = p.time
			}
			k = e
		}
		i = j
	}
	w.enc = enc
	if err := os.WriteFile(r.postings, enc, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(r.works, w.records, 0o644); err != nil {
		return nil, err
	}
	w.b.mu.Lock()
	w.b.stats.RunBytes += int64(len(enc) + len(w.records))
	w.b.mu.Unlock()
	return r, nil
}

// Stream IDs of the StreamWriter: one per key family, whose key ranges
// never overlap.
const (
	streamCounter = iota + 1
	streamForward
	streamMeta
	streamNum
	streamPostings
)

// load runs phase 2.
func (b *builder) load(ctx context.Context, dir string, o Options) error {
	slices.SortFunc(b.runs, func(x, y *run) int { return cmp.Compare(x.first, y.first) })
	db, err := badger.Open(tableOptions(dir, slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer db.Close()
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return err
	}
	out := &kvWriter{sw: sw}
	maxNum := uint32(b.src.Len())

	out.add(streamMeta, metaKey(), metaRecord(b.p.Hash(), b.vhash))
	next := make([]byte, 4)
	binary.BigEndian.PutUint32(next, maxNum+1)
	out.add(streamCounter, counterKey(), next)

	// Forward prints and numbers, in number order (runs are in range
	// order); the work records are kept for the write batch.
	recs, err := os.CreateTemp(b.dir, "records-")
	if err != nil {
		return err
	}
	defer recs.Close()
	recw := bufio.NewWriterSize(recs, 1<<20)
	for _, r := range b.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(r.works)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			num, k := binary.Uvarint(data)
			if k <= 0 {
				return fmt.Errorf("run %s: %w: work number", r.works, ErrCorrupt)
			}
			var chunks [3][]byte // forward print, ID, record
			data = data[k:]
			for i := range chunks {
				if chunks[i], data, err = nextChunk(data); err != nil {
					return fmt.Errorf("run %s: %w", r.works, err)
				}
			}
			out.add(streamForward, numKey(prefixForward, uint32(num)), chunks[0])
			out.add(streamNum, numKey(prefixNum, uint32(num)), chunks[1])
			// ID and record again, for the write batch.
			var hdr [binary.MaxVarintLen64]byte
			for _, c := range chunks[1:] {
				_, _ = recw.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(c)))])
				_, _ = recw.Write(c)
			}
			b.stats.Works++
		}
		if err := out.err; err != nil {
			return err
		}
		_ = os.Remove(r.works)
	}
	if err := recw.Flush(); err != nil {
		return err
	}

	// Postings: merge the runs hash by hash.
	if err := b.mergePostings(ctx, out); err != nil {
		return err
	}
	if err := out.flush(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}

	// Work records (keyed by ID, whose order the runs do not follow).
	if _, err := recs.Seek(0, io.SeekStart); err != nil {
		return err
	}
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	rr := bufio.NewReaderSize(recs, 1<<20)
	for {
		id, err := readChunk(rr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rec, err := readChunk(rr)
		if err != nil {
			return err
		}
		if err := wb.Set(append([]byte{prefixWork}, id...), rec); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return db.Sync()
}

// mergePostings merges the runs' postings, hash by hash, into out.
func (b *builder) mergePostings(ctx context.Context, out *kvWriter) error {
	type cursor struct {
		r    *bufio.Reader
		f    *os.File
		hash uint32
		ok   bool
	}
	advance := func(c *cursor) error {
		d, err := binary.ReadUvarint(c.r)
		if err == io.EOF {
			c.ok = false
			return nil
		}
		if err != nil {
			return err
		}
		c.hash += uint32(d) // the first delta is from 0
		c.ok = true
		return nil
	}
	cs := make([]*cursor, 0, len(b.runs))
	defer func() {
		for _, c := range cs {
			c.f.Close()
		}
	}()
	for _, r := range b.runs {
		f, err := os.Open(r.postings)
		if err != nil {
			return err
		}
		c := &cursor{f: f, r: bufio.NewReaderSize(f, 64<<10)}
		cs = append(cs, c)
		if err := advance(c); err != nil {
			return err
		}
	}
	var pl postingList
	var arena []uint32
	for h := uint32(0); h < buildKeys; h++ {
		if h%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		pl.works, pl.times, arena = pl.works[:0], pl.times[:0], arena[:0]
		var spans [][2]int
		for _, c := range cs {
			if !c.ok || c.hash != h {
				continue
			}
			nWorks, err := binary.ReadUvarint(c.r)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			num := uint32(0)
			for range nWorks {
				d, err1 := binary.ReadUvarint(c.r)
				cnt, err2 := binary.ReadUvarint(c.r)
				if err := errors.Join(err1, err2); err != nil {
					return fmt.Errorf("run: %w", err)
				}
				num += uint32(d)
				start := len(arena)
				t := uint32(0)
				for range cnt {
					dt, err := binary.ReadUvarint(c.r)
					if err != nil {
						return fmt.Errorf("run: %w", err)
					}
					t += uint32(dt)
					arena = append(arena, t)
				}
				pl.works = append(pl.works, num)
				spans = append(spans, [2]int{start, len(arena)})
			}
			if err := advance(c); err != nil {
				return err
			}
		}
		if len(pl.works) == 0 {
			continue
		}
		for _, s := range spans {
			pl.times = append(pl.times, arena[s[0]:s[1]])
		}
		out.add(streamPostings, postingsKey(sparseKey(h)), encodePostings(&pl))
		b.stats.Hashes++
		if out.err != nil {
			return out.err
		}
	}
	return nil
}

// kvWriter batches key-values into StreamWriter buffers.
type kvWriter struct {
	sw  *badger.StreamWriter
	buf *z.Buffer
	err error
}

// kvBatchBytes is the size of a StreamWriter batch.
const kvBatchBytes = 32 << 20

func (w *kvWriter) add(stream uint32, key, value []byte) {
	if w.err != nil {
		return
	}
	if w.buf == nil {
		w.buf = z.NewBuffer(kvBatchBytes+(1<<20), "cueprint.build")
	}
	badger.KVToBuffer(&pb.KV{Key: key, Value: value, Version: 1, StreamId: stream}, w.buf)
	if w.buf.LenNoPadding() >= kvBatchBytes {
		w.err = w.flush()
	}
}

func (w *kvWriter) flush() error {
	if w.buf == nil {
		return nil
	}
	err := w.sw.Write(w.buf)
	w.buf.Release()
	w.buf = nil
	return err
}

// nextChunk splits one <uvarint len><bytes> chunk off data.
func nextChunk(data []byte) (chunk, rest []byte, err error) {
	l, k := binary.Uvarint(data)
	if k <= 0 || l > uint64(len(data)-k) {
		return nil, nil, fmt.Errorf("%w: chunk length", ErrCorrupt)
	}
	return data[k : k+int(l)], data[k+int(l):], nil
}

// readChunk reads one <uvarint len><bytes> chunk.
func readChunk(r *bufio.Reader) ([]byte, error) {
	l, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
