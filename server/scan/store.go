package scan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/internal/atomicfile"
	"github.com/cueprint/cueprint/server/internal/jsonl"
)

// The on-disk form of scans, in the store directory:
//
//	scans/<id>/items.jsonl  the item list, one JSON ScanItem a line,
//	                        written once (temporary name, synced, renamed)
//	scans/<id>/scan.json    the header: id, name, kind, tenant, settings,
//	                        extra columns, item count; written once, after
//	                        the items, so a scan whose header exists is whole
//	scans/<id>/log.jsonl    one JSON event a line, appended and synced one
//	                        by one: an item's outcome (its line, media
//	                        duration and usage lines, or its error), or a
//	                        change of the scan's state
//
// An item counts as done when its event is on disk, and only then does
// the scan's progress move: after a crash the scan resumes with exactly
// the items whose events are missing, so none is counted twice and none
// skipped. A torn last line (the process died writing it) is cut off
// before the log is appended to again. Usage lines carry the works'
// identifiers and owners as they were when the item was scanned.
//
// The files are also where items and usage lines are read from: memory
// holds, per item, where its line of items.jsonl and its event in
// log.jsonl are (some 40 bytes an item, whatever its usage lines), so a
// scan of millions of items is held in tens of megabytes, and its usage
// lines are read back, in list order, when they are queried or reported.

// header is a scan's scan.json.
type header struct {
	ID        string           `json:"id"`
	Name      string           `json:"name,omitempty"`
	Kind      string           `json:"kind"`
	Tenant    string           `json:"tenant,omitempty"`
	Settings  api.ScanSettings `json:"settings"`
	AllOwners bool             `json:"all_owners,omitempty"`
	// Columns names the list's extra columns, in the list's order.
	Columns   []string  `json:"columns,omitempty"`
	Total     int       `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// event is one line of a scan's log.
type event struct {
	// An item's outcome: Line (1-based position in the list) with its
	// media duration and usage lines, or its error.
	Line      int            `json:"line,omitempty"`
	DurationS float64        `json:"duration_s,omitempty"`
	Usages    []api.Usage    `json:"usages,omitempty"`
	Err       *api.ScanError `json:"err,omitempty"`
	// A change of state: "running" (started or resumed), "cancelled" or
	// "done", at At.
	State string     `json:"state,omitempty"`
	At    *time.Time `json:"at,omitempty"`
}

// files keeps scans on disk. A zero files (dir "", a reader without a
// store) holds no scan.
type files struct {
	dir      string
	readOnly bool // a reader: makes no directory, cuts no torn log, removes no half-made scan
}

// newFiles keeps scans in storeDir/scans, creating it unless readOnly.
func newFiles(storeDir string, readOnly bool) (files, error) {
	if storeDir == "" {
		return files{}, nil
	}
	dir := filepath.Join(storeDir, "scans")
	if readOnly {
		return files{dir: dir, readOnly: true}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return files{}, fmt.Errorf("scans directory %s: %w", dir, err)
	}
	return files{dir: dir}, nil
}

// create writes a new scan's items and header. It returns where each
// item's line starts in items.jsonl, and the file's size last.
func (f files) create(h header, items []api.ScanItem) ([]int64, error) {
	d := filepath.Join(f.dir, h.ID)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	at := make([]int64, 0, len(items)+1)
	for _, it := range items {
		at = append(at, int64(buf.Len()))
		if err := enc.Encode(it); err != nil {
			return nil, err
		}
	}
	at = append(at, int64(buf.Len()))
	if err := atomicfile.WriteFile(filepath.Join(d, "items.jsonl"), buf.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("scan %s items: %w", h.ID, err)
	}
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(d, "scan.json"), hb, 0o600); err != nil {
		return nil, fmt.Errorf("scan %s header: %w", h.ID, err)
	}
	return at, nil
}

// ids lists the scans on disk; a directory without a header (a create
// cut short) is removed.
func (f files) ids() ([]string, error) {
	if f.dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // a store that never scanned (opened read-only)
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(f.dir, e.Name(), "scan.json")); errors.Is(err, os.ErrNotExist) {
			if !f.readOnly {
				_ = os.RemoveAll(filepath.Join(f.dir, e.Name()))
			}
			continue
		}
		ids = append(ids, e.Name())
	}
	slices.Sort(ids)
	return ids, nil
}

// load reads a scan's header and where its items are.
func (f files) load(id string) (header, []int64, error) {
	var h header
	d := filepath.Join(f.dir, id)
	hb, err := os.ReadFile(filepath.Join(d, "scan.json"))
	if err != nil {
		return h, nil, err
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, fmt.Errorf("scan.json: %w", err)
	}
	at, err := itemOffsets(filepath.Join(d, "items.jsonl"), h.Total)
	return h, at, err
}

// replay calls fn with each event of scan id's log, its usage lines
// counted, not read, and where the event lies in the log. It cuts a torn last line off the log.
func (f files) replay(id string, fn func(ev event, usages int, at int64, n int)) error {
	return readLog(filepath.Join(f.dir, id, "log.jsonl"), !f.readOnly, fn)
}

// itemOffsets checks that every line of an items.jsonl is an item and
// returns where each starts, and the file's size last.
func itemOffsets(path string, total int) ([]int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	at := make([]int64, 0, total+1)
	br := bufio.NewReaderSize(fh, 1<<20)
	var pos int64
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(b) == 0 {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		var it api.ScanItem
		if err := json.Unmarshal(b, &it); err != nil {
			return nil, fmt.Errorf("items.jsonl item %d: %w", len(at)+1, err)
		}
		at = append(at, pos)
		pos += int64(len(b))
	}
	if len(at) != total {
		return nil, fmt.Errorf("items.jsonl holds %d items, the header says %d", len(at), total)
	}
	return append(at, pos), nil
}

// readLog calls fn with each event of a log (its usage lines counted,
// not read), where it starts and its length with its newline; if cut, it truncates the log after the last
// whole line.
func readLog(path string, cut bool, fn func(ev event, usages int, at int64, n int)) error {
	flag := os.O_RDONLY
	if cut {
		flag = os.O_RDWR
	}
	lf, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lf.Close()
	_, err = jsonl.Lines(lf, cut, func(b []byte, at int64) bool {
		// The usage lines are counted, not decoded: the scan's memory
		// keeps where they are, and decoding them would cost most of
		// the time a large scan takes to open.
		var ev struct {
			event
			Usages []json.RawMessage `json:"usages,omitempty"`
		}
		if json.Unmarshal(b, &ev) == nil {
			fn(ev.event, len(ev.Usages), at, len(b))
		}
		return true
	})
	return err
}

// reader reads a scan's items and events back from its files, where
// load and appendEvent said they are; the log is opened when an event is
// first read. It is not safe for concurrent use.
type reader struct {
	dir        string
	items, log *os.File
	buf        []byte
}

// openReader opens scan id's files for reading.
func (f files) openReader(id string) (*reader, error) {
	d := filepath.Join(f.dir, id)
	items, err := os.Open(filepath.Join(d, "items.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", id, err)
	}
	return &reader{dir: d, items: items}, nil
}

// item reads the item whose line lies at [at, end) of items.jsonl.
func (r *reader) item(at, end int64) (api.ScanItem, error) {
	var it api.ScanItem
	if err := r.read(r.items, at, int(end-at), &it); err != nil {
		return it, fmt.Errorf("items.jsonl at %d: %w", at, err)
	}
	return it, nil
}

// event reads the event of n bytes at offset at of log.jsonl.
func (r *reader) event(at int64, n int) (event, error) {
	var ev event
	if r.log == nil {
		lf, err := os.Open(filepath.Join(r.dir, "log.jsonl"))
		if err != nil {
			return ev, err
		}
		r.log = lf
	}
	if err := r.read(r.log, at, n, &ev); err != nil {
		return ev, fmt.Errorf("log.jsonl at %d: %w", at, err)
	}
	return ev, nil
}

func (r *reader) read(fh *os.File, at int64, n int, v any) error {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := fh.ReadAt(b, at); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Close closes the files.
func (r *reader) Close() error {
	if r.log != nil {
		r.log.Close()
	}
	return r.items.Close()
}

// openLog opens a scan's log for appending.
func (f files) openLog(id string) (*os.File, error) {
	return os.OpenFile(filepath.Join(f.dir, id, "log.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// remove deletes a scan's files.
func (f files) remove(id string) error {
	return os.RemoveAll(filepath.Join(f.dir, id))
}

// appendEvent writes ev to the log and syncs it. It returns where the
// event starts in the log and its length with its newline.
func appendEvent(lf *os.File, ev event) (at int64, n int, err error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return 0, 0, err
	}
	end, err := lf.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, 0, err
	}
	if _, err := lf.Write(append(b, '\n')); err != nil {
		// A part written (a full disk) must not prefix the next line.
		_ = lf.Truncate(end)
		return 0, 0, err
	}
	return end, len(b) + 1, lf.Sync()
}
