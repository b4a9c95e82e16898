// Package events keeps the daemon's events (a monitor's plays and its
// stream's health) in a durable log, and sends them out: to readers of
// the log (Server-Sent Events, resumable from an event id) and to
// webhooks, signed, retried until the receiver takes them, and
// remembered across restarts (Hooks).
//
// The log is one file, events.jsonl, in the store's events/ directory:
// one JSON Event a line, appended and synced one by one. An event's id is
// its line number, from 1, so a reader resumes after the last id it saw
// and a webhook's progress is one number. A torn last line (the process
// died writing it) is cut off when the log is opened; every event whose
// Append returned is whole on disk. Memory holds where each line starts
// (8 bytes an event).
package events

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cueprint/cueprint/server/api"

	"github.com/cueprint/cueprint/server/internal/jsonl"
)

// Event types.
const (
	// PlayStarted: a monitor hears a registered work (Data: a Play).
	PlayStarted = "play.started"
	// PlayEnded: the work's play is over (Data: the whole Play).
	PlayEnded = "play.ended"
	// MonitorState: a monitor's stream changed state (Data: its state).
	MonitorState = "monitor.state"
)

// Types lists the event types, for validating filters.
var Types = []string{PlayStarted, PlayEnded, MonitorState}

// Event is one line of the log: the API's event.
type Event = api.Event

// Key is an event's idempotency key: the same on every delivery of it.
func Key(e Event) string { return "evt-" + strconv.FormatUint(e.ID, 10) }

// Log is the durable event log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	f       *os.File
	at      []int64 // at[i] is where event i+1 starts; at[len] the file's size
	changed chan struct{}
	closed  bool
	now     func() time.Time
}

// ErrClosed is returned by a closed log.
var ErrClosed = errors.New("events: log closed")

// Open opens the log in dir (created if needed), cutting a torn last line.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	path := filepath.Join(dir, "events.jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	l := &Log{f: f, changed: make(chan struct{}), now: time.Now}
	pos, err := jsonl.Lines(f, true, func(b []byte, at int64) bool {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil || e.ID != uint64(len(l.at)+1) {
			// A line that is not the next event is the end of what
			// was written whole.
			return false
		}
		l.at = append(l.at, at)
		return true
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("events: %s: %w", path, err)
	}
	l.at = append(l.at, pos)
	return l, nil
}

// Append writes an event of type typ about monitor (or "") of tenant
// with data (marshalled to JSON) and syncs it; the event is returned
// with its id and time.
func (l *Log) Append(typ, monitor, tenant string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("events: %s data: %w", typ, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Event{}, ErrClosed
	}
	e := Event{ID: uint64(len(l.at)), Type: typ, Time: l.now().UTC().Truncate(time.Millisecond), Monitor: monitor, Tenant: tenant, Data: raw}
	b, err := json.Marshal(e)
	if err != nil {
		return Event{}, err
	}
	end := l.at[len(l.at)-1]
	if _, err := l.f.WriteAt(append(b, '\n'), end); err != nil {
		_ = l.f.Truncate(end) // a part written (a full disk) must not prefix the next line
		return Event{}, fmt.Errorf("events: append: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		_ = l.f.Truncate(end)
		return Event{}, fmt.Errorf("events: sync: %w", err)
	}
	l.at = append(l.at, end+int64(len(b))+1)
	close(l.changed)
	l.changed = make(chan struct{})
	return e, nil
}

// Last returns the id of the last event (0: none).
func (l *Log) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.at) - 1)
}

// Read returns up to max events after id after that keep says to keep
// (nil: all), in order, and the id of the last event it looked at (to
// read on from, even when it kept none).
func (l *Log) Read(after uint64, max int, keep func(Event) bool) ([]Event, uint64, error) {
	l.mu.Lock()
	last := uint64(len(l.at) - 1)
	if after >= last {
		l.mu.Unlock()
		return nil, after, nil
	}
	// Lines are never rewritten once appended: read them unlocked.
	from, to := l.at[after], l.at[last]
	f := l.f
	l.mu.Unlock()
	var out []Event
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 64<<10)
	id := after
	for id < last && len(out) < max {
		b, err := r.ReadBytes('\n')
		if err != nil {
			return out, id, fmt.Errorf("events: read event %d: %w", id+1, err)
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			return out, id, fmt.Errorf("events: event %d: %w", id+1, err)
		}
		id = e.ID
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out, id, nil
}

// Wait returns when the log holds an event after id after, or ctx ends
// (its error), or the log is closed (ErrClosed).
func (l *Log) Wait(ctx context.Context, after uint64) error {
	for {
		l.mu.Lock()
		last, ch, closed := uint64(len(l.at)-1), l.changed, l.closed
		l.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case last > after:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close closes the log; waiting readers return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.changed)
	return l.f.Close()
}
