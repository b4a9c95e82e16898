// Package scan runs catalogue scans: a list of items (a platform's
// uploads, a dataset's files) whose whole timelines are matched against
// the store, every use of a registered work in them turned into a usage
// line. A scan is durable (see store.go for its files): it survives a
// crash or a restart and resumes where it was, each item counted once.
// Items are processed in parallel, bounded by Config.Workers; an item
// that cannot be processed (missing, unreadable, too long, refused) is
// recorded with its reason and the scan goes on.
package scan

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// Scan kinds.
const (
	KindCatalogue = "catalogue"
	KindDataset   = "dataset"
)

// Scan states.
const (
	StateRunning   = "running"
	StateDone      = "done"
	StateCancelled = "cancelled"
	// StateFailed: the scan stopped because its log could not be written
	// (a full disk); resuming it continues where it stopped.
	StateFailed = "failed"
)

// Errors of the manager.
var (
	ErrNotFound = errors.New("scan not found")
	// ErrConflict: the operation does not apply in the scan's state.
	ErrConflict = errors.New("scan state conflict")
	// ErrInvalid: a request the caller must change.
	ErrInvalid = errors.New("invalid scan request")
)

// maxListedErrors bounds the errors a scan's answer lists.
const maxListedErrors = 1000

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// MatchFunc finds the works in one item: the media's duration and the
// segments found over its whole timeline.
type MatchFunc func(ctx context.Context, it api.ScanItem) (durationS float64, segs []match.Segment, err error)

// Config configures a Manager.
type Config struct {
	// Dir is the store directory (scans live in its scans/); "" keeps
	// scans in a temporary directory, removed by Close.
	Dir string
	// Match finds an item's works. A manager without one reads (reports)
	// and deletes what it is told to, but creates and runs nothing.
	Match MatchFunc
	// Classify gives an item's error its stable code ("media_not_found",
	// "media_too_long", ...) and message.
	Classify func(error) (code, message string)
	// Workers bounds the items processed at once, per scan.
	Workers int
	Log     *slog.Logger
	// Observe, if set, is told each item's outcome ("ok" or "error"), its
	// media seconds and usage lines (the daemon's metrics).
	Observe func(outcome string, mediaS float64, usages int)
}

// Request asks for a scan.
type Request struct {
	Name, Kind, Tenant string
	Items              []api.ScanItem
	// Columns names the items' extra columns in the list's order (nil:
	// sorted).
	Columns  []string
	Settings api.ScanSettings
	// AllOwners lets the usage lines carry the owners of every tenant's
	// works (the daemon's admins and matchers, the command line); without
	// it only the scan's own tenant's works carry theirs, as in match
	// answers.
	AllOwners bool
}

// Manager holds a store's scans and runs them.
type Manager struct {
	cfg   Config
	files files
	mu    sync.Mutex
	scans map[string]*scanState
	order []string // by creation
	wg    sync.WaitGroup
	base  context.Context
	stop  context.CancelFunc
	// tmpDir is the temporary directory a manager without Dir keeps its
	// scans in.
	tmpDir string
}

// scanState is a scan in memory: its header, progress and, per item,
// where the item and its outcome are in the scan's files (store.go).
type scanState struct {
	mu sync.Mutex
	h  header
	// itemAt[i] is where item i's line starts in items.jsonl;
	// itemAt[len(itemAt)-1] is the file's size.
	itemAt []int64
	st     []itemState
	// errs are the first maxListedErrors errors, in the order the items
	// failed.
	errs       []api.ScanError
	nDone      int
	nFailed    int
	nUsages    int
	mediaS     float64
	state      string
	finishedAt *time.Time
	// The current run: its cancel, when it started and how many items
	// were done then (for the rate), and its log.
	cancel       context.CancelFunc
	runDone      chan struct{}
	runStart     time.Time
	runStartDone int
	log          *os.File
}

// itemState is an item's outcome, once done: where its event is in
// log.jsonl, its media duration and how many usage lines it gave (-1
// for an item that failed).
type itemState struct {
	at   int64
	n    int32
	uses int32
	durS float64
	done bool
}

// Open loads the scans kept in cfg.Dir. Scans that were running when the
// process stopped are not restarted: call Resume (the daemon does for
// every unfinished scan; the command line for the one it is asked for).
func Open(cfg Config) (*Manager, error) {
	if cfg.Match != nil && cfg.Workers < 1 {
		return nil, fmt.Errorf("scan: Workers %d: want at least 1", cfg.Workers)
	}
	if cfg.Match != nil && cfg.Classify == nil {
		return nil, errors.New("scan: Config needs Classify with Match")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var tmpDir string
	if cfg.Dir == "" && cfg.Match != nil {
		d, err := os.MkdirTemp("", "cueprint-scans-")
		if err != nil {
			return nil, fmt.Errorf("scans: %w", err)
		}
		cfg.Dir, tmpDir = d, d
	}
	f, err := newFiles(cfg.Dir, cfg.Match == nil)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, files: f, scans: map[string]*scanState{}, base: base, stop: stop, tmpDir: tmpDir}
	ids, err := f.ids()
	if err != nil {
		return nil, fmt.Errorf("scans: %w", err)
	}
	var loaded []*scanState
	for _, id := range ids {
		h, itemAt, err := f.load(id)
		if err == nil {
			s := newState(h, itemAt)
			if err = f.replay(id, s.apply); err == nil {
				loaded = append(loaded, s)
				continue
			}
		}
		cfg.Log.Warn("scan not loaded", "scan", id, "err", err)
	}

	slices.SortFunc(loaded, func(a, b *scanState) int {
		return cmp.Or(a.h.CreatedAt.Compare(b.h.CreatedAt), cmp.Compare(a.h.ID, b.h.ID))
	})
	for _, s := range loaded {
		m.scans[s.h.ID] = s
		m.order = append(m.order, s.h.ID)
	}
	return m, nil
}

func newState(h header, itemAt []int64) *scanState {
	return &scanState{h: h, itemAt: itemAt, st: make([]itemState, h.Total), state: StateRunning}
}

// apply takes an event with its number of usage lines, found at offset
// at (n bytes) of the log, into the scan's memory (not its usage lines);
// an item's second event (done again after a crash lost nothing but the
// progress) is ignored.
func (s *scanState) apply(ev event, usages int, at int64, n int) {
	switch {
	case ev.State != "":
		s.state = ev.State
		s.finishedAt = nil
		if ev.State == StateDone || ev.State == StateCancelled {
			s.finishedAt = ev.At
		}
	case ev.Line >= 1 && ev.Line <= len(s.st) && !s.st[ev.Line-1].done:
		st := &s.st[ev.Line-1]
		*st = itemState{at: at, n: int32(n), durS: ev.DurationS, done: true}
		s.nDone++
		s.mediaS += ev.DurationS
		if ev.Err != nil {
			st.uses = -1
			s.nFailed++
			if len(s.errs) < maxListedErrors {
				s.errs = append(s.errs, *ev.Err)
			}
		} else {
			st.uses = int32(usages)
			s.nUsages += int(st.uses)
		}
	}
}

// ID returns the id a request's scan has: a digest of what the scan is
// (tenant, name, kind, settings, items), so the same request names the
// same scan, on any store, and its usage lines get the same ids.
func ID(r Request) string {
	h := sha256.New()
	b, _ := json.Marshal(struct {
		Tenant, Name, Kind string
		Settings           api.ScanSettings
		AllOwners          bool
		Columns            []string
		Items              []api.ScanItem
	}{r.Tenant, r.Name, r.Kind, r.Settings, r.AllOwners, r.Columns, r.Items})
	h.Write(b)
	return "scan-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Create records a new scan, or finds the one the same request created
// before (created is then false). It does not start it.
func (m *Manager) Create(r Request) (api.Scan, bool, error) {
	if m.cfg.Match == nil {
		return api.Scan{}, false, fmt.Errorf("%w: scans are open for reading only", ErrConflict)
	}
	if r.Kind == "" {
		r.Kind = KindCatalogue
	}
	if r.Kind != KindCatalogue && r.Kind != KindDataset {
		return api.Scan{}, false, fmt.Errorf("%w: kind %q: want %s or %s", ErrInvalid, r.Kind, KindCatalogue, KindDataset)
	}
	if r.Name != "" && !nameRe.MatchString(r.Name) {
		return api.Scan{}, false, fmt.Errorf("%w: name %q: want 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, r.Name)
	}
	if err := ValidateSettings(r.Settings); err != nil {
		return api.Scan{}, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := ValidateItems(r.Items, 1); err != nil {
		return api.Scan{}, false, err
	}
	if r.Columns == nil {
		r.Columns = ExtraColumns(r.Items)
	}
	id := ID(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.scans[id]; ok {
		return s.snapshot(), false, nil
	}
	h := header{ID: id, Name: r.Name, Kind: r.Kind, Tenant: r.Tenant, Settings: r.Settings, AllOwners: r.AllOwners, Columns: r.Columns,
		Total: len(r.Items), CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	itemAt, err := m.files.create(h, r.Items)
	if err != nil {
		_ = m.files.remove(id)
		return api.Scan{}, false, err
	}
	s := newState(h, itemAt)
	m.scans[id] = s
	m.order = append(m.order, id)
	return s.snapshot(), true, nil
}

// get returns scan id.
func (m *Manager) get(id string) (*scanState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scans[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return s, nil
}

// Get returns scan id's state and progress.
func (m *Manager) Get(id string) (api.Scan, error) {
	s, err := m.get(id)
	if err != nil {
		return api.Scan{}, err
	}
	return s.snapshot(), nil
}

// List returns every scan, oldest first; with tenant set, that tenant's
// only.
func (m *Manager) List(tenant string, all bool) []api.Scan {
	out := []api.Scan{}
	for _, s := range m.all() {
		if all || s.h.Tenant == tenant {
			out = append(out, s.snapshot())
		}
	}
	return out
}

func (m *Manager) all() []*scanState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*scanState, len(m.order))
	for i, id := range m.order {
		out[i] = m.scans[id]
	}
	return out
}

// Running returns how many scans are running and how many of their
// items are not processed yet (the daemon's gauges).
func (m *Manager) Running() (scans, pendingItems int) {
	for _, s := range m.all() {
		s.mu.Lock()
		if s.state == StateRunning {
			scans++
			pendingItems += len(s.st) - s.nDone
		}
		s.mu.Unlock()
	}
	return scans, pendingItems
}

// Unfinished lists the scans a restart cut short (state running, not
// being run).
func (m *Manager) Unfinished() []string {
	var ids []string
	for _, s := range m.all() {
		s.mu.Lock()
		if s.state == StateRunning && s.cancel == nil {
			ids = append(ids, s.h.ID)
		}
		s.mu.Unlock()
	}
	return ids
}

// Start runs scan id in the background (a cancelled or failed scan is
// resumed). It is a no-op for a scan already running or done.
func (m *Manager) Start(id string) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	ctx, started, err := m.begin(s)
	if err != nil || !started {
		return err
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.runWith(ctx, s, nil)
	}()
	return nil
}

// Run runs scan id until it is done or ctx ends (then it stays
// unfinished and resumes on the next Run or Start). progress, if set, is
// called after each item.
func (m *Manager) Run(ctx context.Context, id string, progress func(api.Scan)) (api.Scan, error) {
	s, err := m.get(id)
	if err != nil {
		return api.Scan{}, err
	}
	rctx, started, err := m.begin(s)
	if err != nil {
		return api.Scan{}, err
	}
	if started {
		stopOnCtx := context.AfterFunc(ctx, func() { s.stopRun() })
		defer stopOnCtx()
		m.runWith(rctx, s, progress)
	}
	snap := s.snapshot()
	if ctx.Err() != nil && snap.State != StateDone {
		return snap, ctx.Err()
	}
	if snap.State == StateFailed {
		return snap, fmt.Errorf("scan %s stopped: its log could not be written", id)
	}
	return snap, nil
}

// begin marks s running and opens its log; started is false when there
// is nothing to run.
func (m *Manager) begin(s *scanState) (context.Context, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil || s.state == StateDone {
		return nil, false, nil
	}
	if m.cfg.Match == nil {
		return nil, false, fmt.Errorf("%w: scans are open for reading only", ErrConflict)
	}
	if m.base.Err() != nil {
		return nil, false, fmt.Errorf("%w: scans are shutting down", ErrConflict)
	}
	lf, err := m.files.openLog(s.h.ID)
	if err != nil {
		return nil, false, fmt.Errorf("scan %s log: %w", s.h.ID, err)
	}
	if s.state != StateRunning {
		now := time.Now().UTC()
		if _, _, err := appendEvent(lf, event{State: StateRunning, At: &now}); err != nil {
			lf.Close()
			return nil, false, fmt.Errorf("scan %s log: %w", s.h.ID, err)
		}
		s.state = StateRunning
		s.finishedAt = nil
	}
	ctx, cancel := context.WithCancel(m.base)
	s.log, s.cancel, s.runDone = lf, cancel, make(chan struct{})
	s.runStart, s.runStartDone = time.Now(), s.nDone
	return ctx, true, nil
}

// runWith processes s's remaining items with cfg.Workers workers.
func (m *Manager) runWith(ctx context.Context, s *scanState, progress func(api.Scan)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.endRun()
	todo := make(chan int32)
	var wg sync.WaitGroup
	for range m.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range todo {
				if err := m.item(ctx, s, int(i)); err != nil {
					m.cfg.Log.Error("scan stopped", "scan", s.h.ID, "err", err)
					s.mu.Lock()
					s.state = StateFailed
					s.mu.Unlock()
					cancel()
					continue
				}
				if progress != nil {
					progress(s.snapshot())
				}
			}
		}()
	}
	s.mu.Lock()
	pending := make([]int32, 0, len(s.st)-s.nDone)
	for i, st := range s.st {
		if !st.done {
			pending = append(pending, int32(i))
		}
	}
	s.mu.Unlock()
feed:
	for _, i := range pending {
		select {
		case todo <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nDone == len(s.st) && s.state == StateRunning {
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, _, err := appendEvent(s.log, event{State: StateDone, At: &now}); err != nil {
			m.cfg.Log.Error("scan not marked done", "scan", s.h.ID, "err", err)
			s.state = StateFailed
			return
		}
		s.state, s.finishedAt = StateDone, &now
	}
}

// item processes item i of s: matches it, writes its event, then counts
// it. An error is the log's (the scan must stop); the item's own errors
// are recorded.
func (m *Manager) item(ctx context.Context, s *scanState, i int) error {
	it, err := m.readItem(s, i)
	if err != nil {
		return err
	}
	durS, segs, err := m.cfg.Match(ctx, it)
	if ctx.Err() != nil {
		return nil // cancelled: the item is done again when the scan resumes
	}
	ev := event{Line: i + 1, DurationS: api.Millis(durS)}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		code, msg := m.cfg.Classify(err)
		ev.Err = &api.ScanError{Line: i + 1, ItemID: it.ItemID, Code: code, Error: msg}
	} else {
		if !s.h.AllOwners {
			for k := range segs {
				if segs[k].Work.Tenant != s.h.Tenant {
					segs[k].Work.Owners, segs[k].Work.Tenant = nil, ""
				}
			}
		}
		ev.Usages = Uses(s.h.ID, i+1, it, durS, segs, s.h.Settings)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, n, err := appendEvent(s.log, ev)
	if err != nil {
		return fmt.Errorf("scan %s log: %w", s.h.ID, err)
	}
	s.apply(ev, len(ev.Usages), at, n)
	if m.cfg.Observe != nil {
		m.cfg.Observe(outcome, ev.DurationS, len(ev.Usages))
	}
	return nil
}

// stopRun cancels s's run, if any, and waits for it to end.
func (s *scanState) stopRun() {
	s.mu.Lock()
	cancel, done := s.cancel, s.runDone
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// endRun closes the run's log and marks s not running.
func (s *scanState) endRun() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		s.log.Close()
	}
	s.log = nil
	if s.cancel != nil {
		s.cancel()
		close(s.runDone)
	}
	s.cancel = nil
}

// Cancel stops a running scan and records it cancelled; Start resumes it.
func (m *Manager) Cancel(id string) (api.Scan, error) {
	s, err := m.get(id)
	if err != nil {
		return api.Scan{}, err
	}
	s.stopRun()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateDone {
		return s.snapshotLocked(), fmt.Errorf("%w: scan %s is done", ErrConflict, id)
	}
	if s.state != StateCancelled {
		lf, err := m.files.openLog(id)
		if err != nil {
			return s.snapshotLocked(), err
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		_, _, err = appendEvent(lf, event{State: StateCancelled, At: &now})
		lf.Close()
		if err != nil {
			return s.snapshotLocked(), err
		}
		s.state, s.finishedAt = StateCancelled, &now
	}
	return s.snapshotLocked(), nil
}

// Delete removes a scan that is not running, with its usage lines.
func (m *Manager) Delete(id string) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	running := s.cancel != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("%w: scan %s is running; cancel it first", ErrConflict, id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.files.remove(id); err != nil {
		return err
	}
	delete(m.scans, id)
	m.order = slices.DeleteFunc(m.order, func(x string) bool { return x == id })
	return nil
}

// Close stops every running scan (they stay unfinished, to resume) and
// waits for them.
func (m *Manager) Close() {
	m.stop()
	for _, s := range m.all() {
		s.stopRun()
	}
	m.wg.Wait()
	if m.tmpDir != "" {
		_ = os.RemoveAll(m.tmpDir)
	}
}

// readItem reads item i of s from its file.
func (m *Manager) readItem(s *scanState, i int) (api.ScanItem, error) {
	r, err := m.files.openReader(s.h.ID)
	if err != nil {
		return api.ScanItem{}, err
	}
	defer r.Close()
	return r.item(s.itemAt[i], s.itemAt[i+1])
}

// snapshot is s's API form.
func (s *scanState) snapshot() api.Scan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *scanState) snapshotLocked() api.Scan {
	out := api.Scan{
		ID: s.h.ID, Name: s.h.Name, Kind: s.h.Kind, Tenant: s.h.Tenant, State: s.state, Settings: s.h.Settings,
		Total: s.h.Total, Done: s.nDone, Failed: s.nFailed, Usages: s.nUsages,
		MediaHours: float64(int64(s.mediaS/3600*1e4+0.5)) / 1e4,
		Errors:     slices.Clone(s.errs[:min(len(s.errs), maxListedErrors)]), CreatedAt: s.h.CreatedAt, FinishedAt: s.finishedAt,
	}
	if out.Errors == nil {
		out.Errors = []api.ScanError{}
	}
	slices.SortFunc(out.Errors, func(a, b api.ScanError) int { return cmp.Compare(a.Line, b.Line) })
	if s.cancel != nil {
		if n := s.nDone - s.runStartDone; n > 0 {
			el := time.Since(s.runStart)
			out.ItemsPerMinute = float64(int64(float64(n)/el.Minutes()*10+0.5)) / 10
			out.ETAS = float64(int64(el.Seconds() / float64(n) * float64(s.h.Total-s.nDone)))
		}
	}
	return out
}
