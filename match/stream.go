package match

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/cueprint/cueprint/fingerprint"
)

// Stream matches a query that arrives over time: a live recording, an
// upload still in transit. Peaks are added as the extractor finalises
// them; each window is searched as soon as all its peaks are in, and a
// segment is returned once no later window can extend it, so a caller
// learns of a work shortly after it ends in the query (about one window
// hop plus snapFrames), not when the query ends.
//
// Cutting a query into windows this way gives exactly the windows Match
// uses on the whole print: Match is a Stream fed at once. Memory is the
// peaks of one window plus the segments still open, whatever the length.
//
// A Stream is used by one goroutine.
type Stream struct {
	m        *Matcher
	win, hop int // window and hop, in frames

	peaks   []fingerprint.Peak // absolute times, from the last window's start on
	horizon float32            // every peak before this frame has been added
	next    int                // start of the next window to search
	done    int                // windows searched
	open    []windowHit        // merged hits a later window may still extend
	closed  bool
}

// Final is the query time (seconds) before which every segment that ends
// there has been returned (see StreamFuser).
func (s *Stream) Final() float64 {
	if s.closed {
		return math.Inf(1)
	}
	frameDur := s.m.fp.FrameDuration()
	reach := s.m.p.HopSeconds/frameDur + snapFrames
	return (float64(s.next) - reach) * frameDur
}

// OpenFrom is the earliest query time (seconds) at which a segment not yet
// returned may start.
func (s *Stream) OpenFrom() float64 {
	if s.closed {
		return math.Inf(1)
	}
	t := float64(s.next)
	for _, h := range s.open {
		t = math.Min(t, h.first)
	}
	return (t - snapFrames) * s.m.fp.FrameDuration()
}

// NewStream returns a stream matcher.
func (m *Matcher) NewStream() *Stream {
	frameDur := m.fp.FrameDuration()
	return &Stream{
		m:   m,
		win: int(math.Round(m.p.WindowSeconds / frameDur)),
		hop: int(math.Round(m.p.HopSeconds / frameDur)),
	}
}

// Add adds peaks (absolute times, in order, all at or after any earlier
// Add's) and declares that every peak before horizon (in frames) has now
// been added. It searches the windows that became complete and returns
// the segments that are now final, in query order.
func (s *Stream) Add(ctx context.Context, peaks []fingerprint.Peak, horizon float32) ([]Segment, error) {
	s.peaks = append(s.peaks, peaks...)
	s.horizon = max(s.horizon, horizon)
	// Window 0 waits until the query is longer than 1.5 windows (a
	// shorter query is searched whole, as one window, by Close), but on
	// a live stream.
	for s.Due(s.horizon) {
		if err := s.search(ctx, s.next, s.win); err != nil {
			return nil, err
		}
		s.next += s.hop
		s.trim()
	}
	return s.final(false, int(s.horizon))
}

// Pending returns the segments found so far that a later window may
// still extend, as they stand: a live caller learns of a work while it
// plays (Add returns it once it is final). They are not removed.
func (s *Stream) Pending() ([]Segment, error) {
	if len(s.open) == 0 {
		return nil, nil
	}
	// No end snaps to the horizon: a work still playing there ends, for
	// now, at its last aligned time.
	return s.m.segments(slices.Clone(s.open), math.MaxInt32)
}

// Due reports whether Add with this horizon would search a window (the
// CPU-heavy part), so a caller can take a worker slot only then.
func (s *Stream) Due(horizon float32) bool {
	h := max(s.horizon, horizon)
	return float32(s.next+s.win) <= h && (s.done > 0 || s.m.p.Live || h > float32(s.win*3/2))
}

// Close ends the query, which lasted totalFrames: it searches what is
// left and returns every remaining segment, in query order.
func (s *Stream) Close(ctx context.Context, totalFrames int) ([]Segment, error) {
	s.horizon = max(s.horizon, float32(totalFrames))
	switch {
	case s.done == 0:
		if err := s.search(ctx, 0, max(totalFrames, 1)); err != nil {
			return nil, err
		}
	case s.next-s.hop+s.win < totalFrames:
		// The tail after the last full window: one window ending at the end.
		if err := s.search(ctx, max(0, totalFrames-s.win), s.win); err != nil {
			return nil, err
		}
	}
	s.peaks, s.closed = nil, true
	return s.final(true, totalFrames)
}

// search matches the window [start, start+win) and merges its hits into
// the open segments.
func (s *Stream) search(ctx context.Context, start, win int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.done++
	lo := sort.Search(len(s.peaks), func(i int) bool { return s.peaks[i].Time >= float32(start) })
	hi := sort.Search(len(s.peaks), func(i int) bool { return s.peaks[i].Time >= float32(start+win) })
	wp := make([]fingerprint.Peak, hi-lo)
	for i, pk := range s.peaks[lo:hi] {
		pk.Time -= float32(start) // Strength kept: pairing picks the strongest target
		wp[i] = pk
	}
	wh, err := s.m.matchWindow(ctx, wp, win)
	if err != nil {
		return err
	}
	for _, h := range wh {
		h.b -= h.a * float64(start)
		h.first += float64(start)
		h.last += float64(start)
		s.open = append(s.open, h)
	}
	s.open = s.m.merge(s.open)
	return nil
}

// trim drops the peaks no later window reads: the next window starts at
// s.next, and the tail window Close may search starts after the last
// searched one, s.next-s.hop.
func (s *Stream) trim() {
	keep := float32(s.next - s.hop)
	i := sort.Search(len(s.peaks), func(i int) bool { return s.peaks[i].Time >= keep })
	if i > len(s.peaks)/2 {
		s.peaks = append(s.peaks[:0], s.peaks[i:]...)
	} else if i > 0 && cap(s.peaks) > 4*len(s.peaks) {
		s.peaks = slices.Clone(s.peaks[i:])
	}
}

// final returns the open segments that no later window can extend (all
// of them when closing) and removes them from the open set.
func (s *Stream) final(closing bool, totalFrames int) ([]Segment, error) {
	var ready []windowHit
	keep := s.open[:0]
	reach := s.m.p.HopSeconds/s.m.fp.FrameDuration() + snapFrames
	for _, h := range s.open {
		// A later window's hits start at or after s.next; merge accepts a
		// hit starting up to reach after this one's last anchor.
		if closing || h.last+reach < float64(s.next) {
			ready = append(ready, h)
		} else {
			keep = append(keep, h)
		}
	}
	s.open = keep
	if len(ready) == 0 {
		return nil, nil
	}
	return s.m.segments(ready, totalFrames)
}
