package monitor

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// silentPeaks: a stream that printed fewer peaks than this over the
// last silentS seconds is silent (digital silence prints none; a quiet
// room a few).
const (
	silentPeaks = 10
	silentS     = 10.0
	// failAfter: after this many attempts in a row that heard nothing
	// for a minute, the monitor is failed rather than reconnecting.
	failAfter = 5
	// steadyAfter: a connection that lasted this long resets the
	// attempts' count and backoff.
	steadyAfter = time.Minute
)

// run listens to rm's stream until ctx ends, opening it again when it
// is lost.
func (m *Manager) run(ctx context.Context, rm *running) {
	var up atomic.Bool
	ticks := everySecond(ctx, func() bool {
		rm.tracker.tick(m.cfg.Now(), up.Load())
		return true
	})
	defer func() { <-ticks }()
	failures := 0
	for ctx.Err() == nil {
		began := m.cfg.Now()
		err := m.listen(ctx, rm, &up)
		if ctx.Err() != nil {
			return
		}
		if m.cfg.Now().Sub(began) >= steadyAfter {
			failures = 0
		}
		failures++
		state := api.MonitorReconnecting
		if failures >= failAfter {
			state = api.MonitorFailed
		}
		m.cfg.Log.Warn("monitor stream lost", "monitor", rm.def.ID, "attempt", failures, "err", err)
		rm.mu.Lock()
		rm.status.Reconnects++
		rm.mu.Unlock()
		m.setState(rm, state, err)
		t := time.NewTimer(m.cfg.Backoff(failures))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// errStalled: the stream sent nothing for twice StallAfter.
var errStalled = errors.New("the stream sent nothing for too long")

// listen reads one connection of rm's stream until it ends or fails.
func (m *Manager) listen(ctx context.Context, rm *running, up *atomic.Bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	m.setState(rm, api.MonitorConnecting, nil)
	body, err := m.cfg.Open(ctx, rm.def.URL)
	if err != nil {
		return err
	}
	defer body.Close()
	wr := &watchedReader{r: body}
	wr.last.Store(time.Now().UnixNano())
	// The watchdog: a stream that sends nothing is stalled, then dropped.
	watchdog := everySecond(ctx, func() bool {
		idle := time.Since(time.Unix(0, wr.last.Load()))
		switch {
		case idle > 2*m.cfg.StallAfter:
			cancel(errStalled)
			body.Close() // unblocks a read waiting on the network
			return false
		case idle > m.cfg.StallAfter:
			up.Store(false)
			m.setState(rm, api.MonitorStalled, nil)
		}
		return true
	})
	defer func() { cancel(nil); <-watchdog }()
	rm.tracker.connected(m.cfg.Now())
	var heardBefore float64
	rm.mu.Lock()
	heardBefore = rm.status.HeardS
	rm.mu.Unlock()
	var recent []match.LiveProgress // the last silentS of steps
	_, err = m.cfg.Matcher.QueryStream(ctx, wr, match.QueryOptions{Work: m.cfg.Work, Live: func(lp match.LiveProgress) {
		now := m.cfg.Now()
		up.Store(true)
		recent = append(recent, lp)
		for len(recent) > 1 && lp.HorizonS-recent[0].HorizonS > silentS {
			recent = recent[1:]
		}
		peaks := 0
		for _, r := range recent {
			peaks += r.Peaks
		}
		state := api.MonitorPlaying
		if lp.HorizonS >= silentS && peaks < silentPeaks {
			state = api.MonitorSilent
		}
		rm.mu.Lock()
		rm.status.HeardS = api.Millis(heardBefore + lp.HorizonS)
		rm.mu.Unlock()
		m.setState(rm, state, nil)
		segs := make([]api.Segment, len(lp.Pending))
		for i, s := range lp.Pending {
			segs[i] = m.cfg.Segment(s, m.attribution(rm, s))
		}
		rm.tracker.live(now, lp, segs)
	}}, func(seg match.Segment) error {
		rm.tracker.final(m.cfg.Segment(seg, m.attribution(rm, seg)))
		return nil
	})
	up.Store(false)
	if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
		return errStalled
	}
	if err == nil {
		err = errEnded
	}
	return err
}

// errEnded: the stream ended, as a live one should not.
var errEnded = errors.New("the stream ended")

// attribution says whether rm's plays carry seg's work's owners: a
// monitor of the work's own tenant, or one made with every owner shown.
func (m *Manager) attribution(rm *running, seg match.Segment) bool {
	return rm.def.AllOwners || seg.Work.Tenant == rm.def.Tenant
}

// setState moves rm to state (recording a monitor.state event when it
// changes); err says why, for the states that are failures.
func (m *Manager) setState(rm *running, state string, err error) {
	rm.mu.Lock()
	if rm.status.State == state || rm.removed {
		rm.mu.Unlock()
		return
	}
	rm.status.State, rm.status.Since = state, m.cfg.Now().UTC().Truncate(time.Millisecond)
	rm.status.Error = ""
	if err != nil {
		rm.status.Error = err.Error()
	}
	st := stateEvent{State: rm.status.State, Since: rm.status.Since, Error: rm.status.Error, Reconnects: rm.status.Reconnects}
	rm.mu.Unlock()
	if err := m.cfg.Record(eventMonitorState, rm.def.ID, rm.def.Tenant, st); err != nil {
		m.cfg.Log.Error("monitor event not recorded", "monitor", rm.def.ID, "type", eventMonitorState, "err", err)
	}
}

// stateEvent is the data of a monitor.state event.
type stateEvent struct {
	State      string    `json:"state"`
	Since      time.Time `json:"since"`
	Error      string    `json:"error,omitempty"`
	Reconnects int       `json:"reconnects"`
}

// watchedReader notes when it last read anything.
type watchedReader struct {
	r    io.Reader
	last atomic.Int64 // unix nanoseconds
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// everySecond calls fn every second until ctx ends or fn returns false;
// the channel it returns is closed when it has stopped.
func everySecond(ctx context.Context, fn func() bool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !fn() {
					return
				}
			}
		}
	}()
	return done
}
