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

// files keeps scans on disk. A zero files (dir "") keeps nothing.
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

// create writes a new scan's items and header.
func (f files) create(h header, items []api.ScanItem) error {
	if f.dir == "" {
		return nil
	}
	d := filepath.Join(f.dir, h.ID)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(d, "items.jsonl"), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("scan %s items: %w", h.ID, err)
	}
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(d, "scan.json"), hb, 0o600); err != nil {
		return fmt.Errorf("scan %s header: %w", h.ID, err)
	}
	return nil
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

// load reads a scan's header, items and log. It cuts a torn last line
// off the log.
func (f files) load(id string) (header, []api.ScanItem, []event, error) {
	var h header
	d := filepath.Join(f.dir, id)
	hb, err := os.ReadFile(filepath.Join(d, "scan.json"))
	if err != nil {
		return h, nil, nil, err
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, fmt.Errorf("scan.json: %w", err)
	}
	ib, err := os.ReadFile(filepath.Join(d, "items.jsonl"))
	if err != nil {
		return h, nil, nil, err
	}
	items := make([]api.ScanItem, 0, h.Total)
	dec := json.NewDecoder(bytes.NewReader(ib))
	for {
		var it api.ScanItem
		if err := dec.Decode(&it); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return h, nil, nil, fmt.Errorf("items.jsonl item %d: %w", len(items)+1, err)
		}
		items = append(items, it)
	}
	if len(items) != h.Total {
		return h, nil, nil, fmt.Errorf("items.jsonl holds %d items, the header says %d", len(items), h.Total)
	}
	evs, err := readLog(filepath.Join(d, "log.jsonl"), !f.readOnly)
	return h, items, evs, err
}

// readLog reads a log's events and, if cut, truncates it after the last
// whole line.
func readLog(path string, cut bool) ([]event, error) {
	flag := os.O_RDONLY
	if cut {
		flag = os.O_RDWR
	}
	lf, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	var evs []event
	br := bufio.NewReaderSize(lf, 1<<20)
	var good int64
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // b, if any, is a torn line
		}
		if err != nil {
			return nil, err
		}
		var ev event
		if json.Unmarshal(b, &ev) == nil {
			evs = append(evs, ev)
		}
		good += int64(len(b))
	}
	if fi, err := lf.Stat(); err == nil && fi.Size() != good && cut {
		if err := lf.Truncate(good); err != nil {
			return nil, fmt.Errorf("cut the torn end of %s: %w", path, err)
		}
	}
	return evs, nil
}

// openLog opens a scan's log for appending.
func (f files) openLog(id string) (*os.File, error) {
	if f.dir == "" {
		return nil, nil
	}
	return os.OpenFile(filepath.Join(f.dir, id, "log.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// remove deletes a scan's files.
func (f files) remove(id string) error {
	if f.dir == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(f.dir, id))
}

// appendEvent writes ev to the log and syncs it.
func appendEvent(lf *os.File, ev event) error {
	if lf == nil {
		return nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	end, err := lf.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := lf.Write(append(b, '\n')); err != nil {
		// A part written (a full disk) must not prefix the next line.
		_ = lf.Truncate(end)
		return err
	}
	return lf.Sync()
}
