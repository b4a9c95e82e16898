package monitor

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// Plays. The stream matcher reports a work twice: while it plays, as a
// pending segment that later windows extend (every HopS of stream), and
// once it is over, as a final segment. A play starts on the first
// segment of a work that no open play continues, and ends when the
// stream has played closeGap past it with nothing extending it: with
// windows searched every 5 s, a work is announced 5-15 s after its start
// and closed about closeGap after its end. A segment continues a play
// when it is the same work at the same place: its reference start is
// where the play's reference end would have got to by then (within
// continueTolS, at the play's speed), after at most lostGap; so a jingle
// or a DJ talking over the music does not split a play, nor does the
// stream being lost and found again, nor the daemon restarting.
//
// Times are wall-clock UTC: a stream second is mapped to the time it was
// heard (the stream's clock, set at each step of the matcher), so plays
// stay on one timeline across reconnections, when the stream's own
// seconds start again from 0.

const (
	// closeGap: a play is over when the stream has played this long past
	// its end. Above the window hop (HopS), so that a play is not closed
	// between two windows that both hear it.
	closeGap = 8 * time.Second
	// lostGap: a play whose stream is lost (or whose daemon stopped)
	// ends when the stream has not come back with the work this long
	// after its last: time to reconnect, fill a window (WindowSeconds)
	// and search it.
	lostGap = time.Minute
	// continueTolS: a segment continues a play when its reference start
	// is within this of where the play would be by then.
	continueTolS = 3.0
	// minPlayS: shorter segments start no play.
	minPlayS = 3.0
	// recentKeep: ended plays kept to absorb their late final segments.
	recentKeep = 2 * time.Minute
)

// livePlay is a play under way.
type livePlay struct {
	play     api.Play
	key      string // the work: tenant and id
	start    time.Time
	end      time.Time
	speed    float64
	restored bool // loaded after a restart: closes on lostGap only
	// conn is the connection the play was last heard on, endS where it
	// ended in that connection's seconds: on one connection, continuity
	// is judged in the stream's own time, exact whatever the clock does.
	conn int
	endS float64
}

// tracker turns a monitor's segments into plays. It is safe for
// concurrent use.
type tracker struct {
	mu     sync.Mutex
	def    Def
	emit   func(typ string, p api.Play) // records an event
	save   func(open []api.Play)        // persists the plays under way
	newID  func() string
	minCon float64
	open   []*livePlay
	recent []*livePlay
	// The stream's clock: stream second s was heard at zero + s.
	// resumed is when the stream last (re)started. A stream's first
	// window is searched graceS after it starts (a window) and the next
	// ones every hop: until then no play is closed for want of segments.
	zero    time.Time
	clocked bool
	resumed time.Time
	graceS  float64
	plays   int
	conn    int       // connections so far
	heard   time.Time // the time of the last stream second heard
}

func key(w api.Segment) string { return w.Tenant + "\x00" + w.ID }

// restore takes plays that were under way when the daemon stopped.
func (t *tracker) restore(plays []api.Play) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range plays {
		end := p.StartedAt.Add(time.Duration(p.PlayedS * float64(time.Second)))
		t.open = append(t.open, &livePlay{play: p, key: key(p.Work), start: p.StartedAt, end: end,
			speed: max(p.Work.Speed, 0.01), restored: true})
	}
}

// connected marks the stream's (re)start: its seconds count from 0 again.
func (t *tracker) connected(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clocked = false
	t.resumed = now
	t.conn++
}

// live takes a step of the stream matcher: the stream's clock and its
// pending segments.
func (t *tracker) live(now time.Time, lp match.LiveProgress, segs []api.Segment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The stream's second s is heard at zero+s, zero being the earliest
	// any step makes it: a step comes after its sound by the time the
	// decoder and the matcher took, which varies, and the least is the
	// nearest to the truth. A zero later by reanchor (the stream stalled
	// and came back behind) moves it on.
	zero := now.Add(-time.Duration(lp.HorizonS * float64(time.Second)))
	if !t.clocked || zero.Before(t.zero) || zero.Sub(t.zero) > reanchor {
		t.zero, t.clocked = zero, true
	}
	t.heard = t.wall(lp.HorizonS)
	for _, s := range segs {
		t.observe(s, false)
	}
	t.closeOver(now, true)
}

// final takes a final segment.
func (t *tracker) final(s api.Segment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.observe(s, true)
}

// wall is the wall-clock time of stream second s.
func (t *tracker) wall(s float64) time.Time {
	return t.zero.Add(time.Duration(s * float64(time.Second)))
}

func (t *tracker) observe(s api.Segment, final bool) {
	if !t.clocked || s.Confidence < t.minCon || s.QueryEndS-s.QueryStartS < minPlayS {
		return
	}
	start, end := t.wall(s.QueryStartS), t.wall(s.QueryEndS)
	k := key(s)
	continues := func(p *livePlay) bool {
		gap := start.Sub(p.end).Seconds()
		if p.conn == t.conn {
			gap = s.QueryStartS - p.endS
		}
		want := p.play.Work.RefEndS + gap*p.speed
		return p.key == k && gap <= lostGap.Seconds() && math.Abs(s.RefStartS-want) <= continueTolS
	}
	// A late final segment of a play that is over.
	for _, p := range t.recent {
		if continues(p) && !end.After(p.end.Add(time.Second)) {
			return
		}
	}
	for _, p := range t.open {
		if !continues(p) {
			continue
		}
		if end.After(p.end) || p.conn != t.conn {
			p.end, p.endS, p.conn = end, s.QueryEndS, t.conn
			p.play.Work.RefEndS, p.play.Work.QueryEndS = s.RefEndS, s.QueryEndS
		}
		if start.Before(p.start) {
			p.start = start
			p.play.StartedAt = start
			p.play.Work.RefStartS, p.play.Work.QueryStartS = s.RefStartS, s.QueryStartS
		}
		p.play.Work.Confidence = max(p.play.Work.Confidence, s.Confidence)
		if final {
			p.speed = max(s.Speed, 0.01)
			p.play.Work.Speed, p.play.Work.PitchShiftSemitones = s.Speed, s.PitchShiftSemitones
			p.play.Work.Modality = s.Modality
		}
		p.restored = false
		p.play.PlayedS = api.Millis(p.end.Sub(p.start).Seconds())
		t.persist()
		return
	}
	p := &livePlay{key: k, start: start, end: end, speed: max(s.Speed, 0.01), conn: t.conn, endS: s.QueryEndS}
	p.play = api.Play{ID: t.newID(), Monitor: t.def.ID, Station: t.def.Name, Territory: t.def.Territory, ChannelID: t.def.ChannelID,
		StartedAt: start, PlayedS: api.Millis(end.Sub(start).Seconds()), Work: s}
	t.open = append(t.open, p)
	t.plays++
	t.emit(eventPlayStarted, p.play)
	t.persist()
}

// tick ends the plays that are over by now: those the stream has played
// closeGap past (streamUp: the stream is being heard), and those not
// heard for lostGap whatever the stream does. The monitor calls it every
// second; live does at every step of the stream.
func (t *tracker) tick(now time.Time, streamUp bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeOver(now, streamUp)
}

func (t *tracker) closeOver(now time.Time, streamUp bool) {
	changed := false
	t.open = slices.DeleteFunc(t.open, func(p *livePlay) bool {
		reason := ""
		switch {
		case streamUp && t.clocked && !p.restored &&
			t.heard.Sub(maxTime(p.end, t.resumed.Add(time.Duration(t.graceS*float64(time.Second))))) > closeGap:
			reason = "ended"
		case now.Sub(p.end) > lostGap && p.restored:
			reason = "restarted"
		case now.Sub(p.end) > lostGap:
			reason = "stream_lost"
		default:
			return false
		}
		t.end(p, reason, now)
		changed = true
		return true
	})
	t.recent = slices.DeleteFunc(t.recent, func(p *livePlay) bool { return now.Sub(p.end) > recentKeep })
	if changed {
		t.persist()
	}
}

// closeAll ends every play under way (the monitor removed, the daemon
// closing: those are kept to resume instead, see Manager.Close).
func (t *tracker) closeAll(reason string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.open {
		t.end(p, reason, now)
	}
	t.open = nil
	t.persist()
}

func (t *tracker) end(p *livePlay, reason string, now time.Time) {
	end := p.end
	p.play.EndedAt = &end
	p.play.EndReason = reason
	p.play.PlayedS = api.Millis(p.end.Sub(p.start).Seconds())
	t.emit(eventPlayEnded, p.play)
	t.recent = append(t.recent, p)
}

// persist saves the plays under way (called with mu held).
func (t *tracker) persist() {
	out := make([]api.Play, len(t.open))
	for i, p := range t.open {
		out[i] = p.play
	}
	t.save(out)
}

// playing returns the plays under way.
func (t *tracker) playing() ([]api.Play, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]api.Play, len(t.open))
	for i, p := range t.open {
		out[i] = p.play
	}
	return out, t.plays
}

// reanchor is how far behind the wall clock a stream may fall before its
// clock is set again.
const reanchor = 5 * time.Second

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
