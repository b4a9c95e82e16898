package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/internal/atomicfile"
)

// jobStore keeps bulk jobs on disk, so that a job's report survives a
// restart and a job cut short by one is resumed. Each job is three files
// in the store's jobs/ directory:
//
//	<id>.json   the job's header (jobHeader), written once
//	<id>.csv    the manifest as posted, written once
//	<id>.log    one JSON line (jobEvent) per row done, then one with the
//	            final state; appended and synced line by line
//
// The header and manifest are written to a temporary name, synced and
// renamed, so a job exists whole or not at all. A log line is synced
// before the job's counts move, so what GET /v1/jobs/{id} reported is
// never lost; a row whose line was not yet written when the daemon died
// is done again when the job resumes.
type jobStore struct {
	dir string // "" keeps nothing (an in-memory store)
}

// jobHeader is what a job needs to be resumed.
type jobHeader struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Tenant    string    `json:"tenant"`
	Replace   bool      `json:"replace"`
	Total     int       `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// jobEvent is one line of a job's log: a row's outcome (Line set), or the
// job's end (State set).
type jobEvent struct {
	Line       int           `json:"line,omitempty"`
	OK         bool          `json:"ok,omitempty"`
	Err        *api.JobError `json:"err,omitempty"`
	State      string        `json:"state,omitempty"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
}

func newJobStore(storeDir string) (*jobStore, error) {
	if storeDir == "" {
		return &jobStore{}, nil
	}
	dir := filepath.Join(storeDir, "jobs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jobs directory %s: %w", dir, err)
	}
	return &jobStore{dir: dir}, nil
}

// create writes a new job's header and manifest.
func (js *jobStore) create(h jobHeader, manifest []byte) error {
	if js.dir == "" {
		return nil
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(js.dir, h.ID+".csv"), manifest, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(js.dir, h.ID+".json"), hb, 0o600)
}

// jobLog appends a job's events.
type jobLog struct {
	mu sync.Mutex
	f  *os.File // nil: not kept
}

// openLog opens job id's log for appending.
func (js *jobStore) openLog(id string) (*jobLog, error) {
	if js.dir == "" {
		return &jobLog{}, nil
	}
	f, err := os.OpenFile(filepath.Join(js.dir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("job log %s: %w", id, err)
	}
	return &jobLog{f: f}, nil
}

// add appends ev and syncs it.
func (l *jobLog) add(ev jobEvent) error {
	if l.f == nil {
		return nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return l.f.Sync()
}

func (l *jobLog) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// storedJob is a job read back from disk.
type storedJob struct {
	header   jobHeader
	manifest []byte
	api      api.Job
	done     map[int]bool // manifest lines already done
	finished bool
}

// load reads every job on disk, oldest first. A job whose files are
// unreadable is skipped with its error in errs; a log's torn last line
// (the daemon died writing it) is ignored.
func (js *jobStore) load() (jobs []*storedJob, errs []error) {
	if js.dir == "" {
		return nil, nil
	}
	names, err := filepath.Glob(filepath.Join(js.dir, "*.json"))
	if err != nil {
		return nil, []error{err}
	}
	for _, name := range names {
		id := strings.TrimSuffix(filepath.Base(name), ".json")
		sj, err := js.loadOne(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", id, err))
			continue
		}
		jobs = append(jobs, sj)
	}
	slices.SortFunc(jobs, func(a, b *storedJob) int { return a.header.CreatedAt.Compare(b.header.CreatedAt) })
	return jobs, errs
}

func (js *jobStore) loadOne(id string) (*storedJob, error) {
	hb, err := os.ReadFile(filepath.Join(js.dir, id+".json"))
	if err != nil {
		return nil, err
	}
	sj := &storedJob{done: map[int]bool{}}
	if err := json.Unmarshal(hb, &sj.header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if sj.manifest, err = os.ReadFile(filepath.Join(js.dir, id+".csv")); err != nil {
		return nil, err
	}
	h := sj.header
	sj.api = api.Job{ID: h.ID, Kind: h.Kind, State: "running", Total: h.Total, Errors: []api.JobError{}, CreatedAt: h.CreatedAt}
	lb, err := os.ReadFile(filepath.Join(js.dir, id+".log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(lb))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev jobEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // a torn last line
		}
		switch {
		case ev.State != "":
			sj.api.State, sj.api.FinishedAt, sj.finished = ev.State, ev.FinishedAt, true
		case ev.Line > 0 && !sj.done[ev.Line]:
			sj.done[ev.Line] = true
			sj.api.Done++
			if ev.OK {
				sj.api.Registered++
			} else if ev.Err != nil {
				sj.api.Failed++
				if len(sj.api.Errors) < maxJobErrors {
					sj.api.Errors = append(sj.api.Errors, *ev.Err)
				}
			}
		}
	}
	return sj, nil
}

// remove deletes a job's files.
func (js *jobStore) remove(id string) {
	if js.dir == "" {
		return
	}
	for _, ext := range []string{".json", ".csv", ".log"} {
		_ = os.Remove(filepath.Join(js.dir, id+ext))
	}
}
