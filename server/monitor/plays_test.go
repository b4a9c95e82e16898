package monitor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// playLog is a tracker's events.
type playLog struct {
	started, ended []api.Play
	saved          []api.Play
}

func newTestTracker(l *playLog) *tracker {
	n := 0
	return &tracker{
		def: Def{ID: "mon-1", Name: "Test FM"}, minCon: 0.95, graceS: 25,
		newID: func() string { n++; return "play-" + string(rune('0'+n)) },
		emit: func(typ string, p api.Play) {
			if typ == eventPlayStarted {
				l.started = append(l.started, p)
			} else {
				l.ended = append(l.ended, p)
			}
		},
		save: func(open []api.Play) { l.saved = open },
	}
}

func seg(work string, qs, qe, rs float64) api.Segment {
	return api.Segment{ID: work, QueryStartS: qs, QueryEndS: qe, RefStartS: rs, RefEndS: rs + qe - qs, Confidence: 1, Speed: 1, Modality: "audio"}
}

// feed plays the stream from second from to to in steps of a second,
// starting at t0; every HopS seconds (a window searched) with the
// segments segs says are pending then.
func feed(tr *tracker, t0 time.Time, from, to float64, segs func(s float64) []api.Segment) {
	for s := from; s <= to; s++ {
		var pending []api.Segment
		if int(s)%HopS == 0 {
			pending = segs(s)
		}
		tr.live(t0.Add(time.Duration(s*float64(time.Second))), match.LiveProgress{HorizonS: s}, pending)
	}
}

// TestPlaysOnceEach: a work heard over several windows is one play,
// whose late final segment changes nothing; the same work played again
// from its start is another play.
func TestPlaysOnceEach(t *testing.T) {
	var l playLog
	tr := newTestTracker(&l)
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	tr.connected(t0)
	feed(tr, t0, 0, 200, func(s float64) []api.Segment {
		var out []api.Segment
		if s >= 20 { // heard once a window holds enough of it
			out = append(out, seg("W1", 10, min(80, s-1), 0))
		}
		if s >= 110 {
			out = append(out, seg("W1", 100, min(130, s-1), 0)) // again from the start
		}
		if s == 105 {
			tr.final(seg("W1", 10.5, 79.5, 0.5)) // final, a window later than its end
		}
		return out
	})
	require.Len(t, l.started, 2)
	require.Len(t, l.ended, 2)
	first := l.ended[0]
	require.Equal(t, l.started[0].ID, first.ID)
	require.Equal(t, t0.Add(10*time.Second), first.StartedAt)
	require.Equal(t, t0.Add(80*time.Second), *first.EndedAt)
	require.InDelta(t, 70, first.PlayedS, 0.01)
	require.Equal(t, "ended", first.EndReason)
	require.Equal(t, 0.0, l.ended[1].Work.RefStartS)
	require.Equal(t, t0.Add(100*time.Second), l.ended[1].StartedAt)
	require.Empty(t, l.saved, "nothing under way")
}

// TestPlaysResumeAfterRestart: a play under way when the daemon stopped
// goes on when its work is still playing where it should be; one whose
// work is not heard again ends a minute later, as "restarted".
func TestPlaysResumeAfterRestart(t *testing.T) {
	var l playLog
	tr := newTestTracker(&l)
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	went := t0.Add(-20 * time.Second) // the daemon stopped 20 s ago
	tr.restore([]api.Play{
		{ID: "play-a", Monitor: "mon-1", StartedAt: went.Add(-60 * time.Second), PlayedS: 60, Work: seg("W1", 0, 60, 100)},
		{ID: "play-b", Monitor: "mon-1", StartedAt: went.Add(-30 * time.Second), PlayedS: 30, Work: seg("W2", 0, 30, 0)},
	})
	tr.connected(t0)
	// W1 still plays: 20 s after the stop it is 20 s further on (ref 180).
	feed(tr, t0, 0, 90, func(s float64) []api.Segment {
		if s < 25 {
			return nil
		}
		return []api.Segment{seg("W1", 0, min(40, s-1), 180)}
	})
	require.Empty(t, l.started, "W1 went on, W2 was not heard: no new play")
	require.Len(t, l.ended, 2)
	require.Equal(t, "play-b", l.ended[0].ID)
	require.Equal(t, "restarted", l.ended[0].EndReason)
	require.Equal(t, "play-a", l.ended[1].ID)
	require.Equal(t, "ended", l.ended[1].EndReason)
	require.Equal(t, t0.Add(40*time.Second), *l.ended[1].EndedAt)
	require.InDelta(t, 120, l.ended[1].PlayedS, 0.01, "60 s before the stop, 20 s while stopped, 40 s after")
}
