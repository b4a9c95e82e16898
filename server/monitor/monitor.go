// Package monitor watches streams: radio and TV stations, internet radio,
// live channels. Each monitor reads its stream continuously, matches it
// in sliding windows as it arrives, and turns what it hears into plays,
// announced when a work starts (play.started) and closed when it ends
// (play.ended), in the daemon's event log (package events), which sends
// them on to webhooks and event-stream readers. A lost stream is opened
// again, further apart each time; the stream's health is a state
// (api.MonitorStatus) with its own events.
//
// Monitors are durable: each is a file in the store's monitors/
// directory, <id>.json, written once, whole or not at all; a daemon
// that starts runs every monitor again. The plays under way are kept
// beside it (<id>.playing.json, rewritten as they change) so that a
// play the daemon stopped during is resumed when its work is still
// playing, and ended otherwise (end reason "restarted").
package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/internal/atomicfile"
	"github.com/cueprint/cueprint/server/internal/records"
)

// Event types a monitor records (package events names the same).
const (
	eventPlayStarted  = "play.started"
	eventPlayEnded    = "play.ended"
	eventMonitorState = "monitor.state"
)

// HopS is the window hop of a monitor's matcher, seconds: a work is
// heard within a hop and a window's worth of its start (see plays.go).
const HopS = 5

// Def is a monitor as it is stored.
type Def struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Territory string    `json:"territory,omitempty"`
	ChannelID string    `json:"channel_id,omitempty"`
	Tenant    string    `json:"tenant,omitempty"`
	AllOwners bool      `json:"all_owners,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Config configures a Manager.
type Config struct {
	// Dir is the store directory (monitors live in its monitors/).
	Dir string
	// Matcher matches the streams: Params.Live, windows every HopS.
	Matcher *match.Matcher
	// Open opens a stream for reading: Check has accepted its URL.
	Open func(ctx context.Context, url string) (io.ReadCloser, error)
	// Check refuses a URL the daemon may not read (a scheme it does not
	// follow, a file outside its media root, remote URLs not allowed).
	Check func(url string) error
	// Record appends an event to the daemon's log.
	Record func(typ, monitor, tenant string, data any) error
	// Work runs a CPU-heavy step (see match.QueryOptions.Work).
	Work func(ctx context.Context, step func() error) error
	// MinConfidence: weaker segments start no play.
	MinConfidence float64
	// Segment is the API form of a segment, with owners when attribution
	// allows.
	Segment func(seg match.Segment, attribution bool) api.Segment
	Log     *slog.Logger
	// Backoff is the wait before reconnection attempt n (from 1); nil:
	// 1 s doubling to a minute.
	Backoff func(n int) time.Duration
	// StallAfter is how long a stream may send nothing before it is
	// stalled, and twice that before it is dropped and opened again
	// (default 10 s).
	StallAfter time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Errors of the manager.
var (
	ErrNotFound = errors.New("monitor not found")
	ErrInvalid  = errors.New("invalid monitor")
)

// Manager runs a store's monitors.
type Manager struct {
	cfg  Config
	dir  string
	mu   sync.Mutex
	mons map[string]*running
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// running is a monitor being run.
type running struct {
	def     Def
	cancel  context.CancelFunc
	done    chan struct{}
	tracker *tracker
	mu      sync.Mutex
	status  api.MonitorStatus
	removed bool
}

var nameRe = regexp.MustCompile(`^\S.{0,127}$`)

// Open loads the monitors kept in cfg.Dir and starts them all.
func Open(cfg Config) (*Manager, error) {
	if cfg.Matcher == nil || cfg.Open == nil || cfg.Record == nil || cfg.Segment == nil {
		return nil, errors.New("monitor: Config needs Matcher, Open, Record and Segment")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 6), time.Minute) }
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Check == nil {
		cfg.Check = func(string) error { return nil }
	}
	dir := filepath.Join(cfg.Dir, "monitors")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("monitors: %w", err)
	}
	base, stop := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, dir: dir, mons: map[string]*running{}, base: base, stop: stop}
	err := records.Load(dir, func(id string, d Def) {
		if d.ID != id {
			cfg.Log.Warn("monitor not loaded", "file", id+".json", "err", "its id is "+d.ID)
			return
		}
		var playing []api.Play
		if b, err := os.ReadFile(m.playingPath(id)); err == nil {
			if err := json.Unmarshal(b, &playing); err != nil {
				cfg.Log.Warn("monitor's plays under way not loaded", "monitor", id, "err", err)
			}
		}
		m.start(d, playing)
	}, func(name string, err error) { cfg.Log.Warn("monitor not loaded", "file", name, "err", err) })
	if err != nil {
		return nil, fmt.Errorf("monitors: %w", err)
	}
	return m, nil
}

// Add validates a monitor, stores it and starts it.
func (m *Manager) Add(r api.MonitorRequest, tenant string, allOwners bool) (api.Monitor, error) {
	r.Name = strings.TrimSpace(r.Name)
	if !nameRe.MatchString(r.Name) {
		return api.Monitor{}, fmt.Errorf("%w: name %q: want 1-128 characters", ErrInvalid, r.Name)
	}
	if r.URL == "" {
		return api.Monitor{}, fmt.Errorf("%w: url is required", ErrInvalid)
	}
	if err := m.cfg.Check(r.URL); err != nil {
		return api.Monitor{}, err
	}
	d := Def{ID: "mon-" + randomHex(8), Name: r.Name, URL: r.URL, Territory: strings.ToUpper(r.Territory), ChannelID: r.ChannelID,
		Tenant: tenant, AllOwners: allOwners, CreatedAt: m.cfg.Now().UTC().Truncate(time.Millisecond)}
	if err := records.Write(m.dir, d.ID, d); err != nil {
		return api.Monitor{}, fmt.Errorf("monitor %s: %w", d.ID, err)
	}
	rm := m.start(d, nil)
	return m.view(rm), nil
}

// Remove stops a monitor, ends its plays under way and deletes it.
func (m *Manager) Remove(id string) error {
	m.mu.Lock()
	rm, ok := m.mons[id]
	delete(m.mons, id)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	rm.mu.Lock()
	rm.removed = true
	rm.mu.Unlock()
	rm.cancel()
	<-rm.done
	rm.tracker.closeAll("monitor_removed", m.cfg.Now())
	if err := os.Remove(filepath.Join(m.dir, id+".json")); err != nil {
		return fmt.Errorf("monitor %s: %w", id, err)
	}
	_ = os.Remove(m.playingPath(id))
	return nil
}

// List returns the monitors of tenant (every tenant's when all), oldest
// first.
func (m *Manager) List(tenant string, all bool) []api.Monitor {
	m.mu.Lock()
	rms := make([]*running, 0, len(m.mons))
	for _, rm := range m.mons {
		if all || rm.def.Tenant == tenant {
			rms = append(rms, rm)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(rms, func(a, b *running) int {
		if c := a.def.CreatedAt.Compare(b.def.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.def.ID, b.def.ID)
	})
	out := make([]api.Monitor, len(rms))
	for i, rm := range rms {
		out[i] = m.view(rm)
	}
	return out
}

// Get returns a monitor with its state.
func (m *Manager) Get(id string) (api.Monitor, error) {
	m.mu.Lock()
	rm, ok := m.mons[id]
	m.mu.Unlock()
	if !ok {
		return api.Monitor{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return m.view(rm), nil
}

// States counts the monitors in each state (the daemon's gauges).
func (m *Manager) States() map[string]int {
	out := map[string]int{}
	for _, mon := range m.List("", true) {
		out[mon.Status.State]++
	}
	return out
}

// Close stops every monitor and waits for them. Their plays under way
// stay on disk, to be resumed or ended when the store opens again.
func (m *Manager) Close() {
	m.stop()
	m.wg.Wait()
}

func (m *Manager) view(rm *running) api.Monitor {
	rm.mu.Lock()
	st := rm.status
	rm.mu.Unlock()
	st.Playing, st.Plays = rm.tracker.playing()
	d := rm.def
	return api.Monitor{ID: d.ID, Name: d.Name, URL: d.URL, Territory: d.Territory, ChannelID: d.ChannelID, Tenant: d.Tenant,
		CreatedAt: d.CreatedAt, Status: st}
}

func (m *Manager) playingPath(id string) string { return filepath.Join(m.dir, id+".playing.json") }

func (m *Manager) start(d Def, playing []api.Play) *running {
	ctx, cancel := context.WithCancel(m.base)
	rm := &running{def: d, cancel: cancel, done: make(chan struct{}),
		status: api.MonitorStatus{State: api.MonitorConnecting, Since: m.cfg.Now().UTC()}}
	rm.tracker = &tracker{
		def: d, minCon: m.cfg.MinConfidence,
		graceS: m.cfg.Matcher.Params().WindowSeconds + m.cfg.Matcher.Params().HopSeconds,
		newID:  func() string { return "play-" + randomHex(8) },
		emit: func(typ string, p api.Play) {
			if err := m.cfg.Record(typ, d.ID, d.Tenant, p); err != nil {
				m.cfg.Log.Error("monitor event not recorded", "monitor", d.ID, "type", typ, "err", err)
			}
		},
		save: func(open []api.Play) {
			rm.mu.Lock()
			removed := rm.removed
			rm.mu.Unlock()
			if removed {
				return
			}
			b, _ := json.Marshal(open)
			if err := atomicfile.WriteFile(m.playingPath(d.ID), b, 0o600); err != nil {
				m.cfg.Log.Error("monitor's plays under way not saved", "monitor", d.ID, "err", err)
			}
		},
	}
	rm.tracker.restore(playing)
	m.mu.Lock()
	m.mons[d.ID] = rm
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(rm.done)
		m.run(ctx, rm)
	}()
	return rm
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
