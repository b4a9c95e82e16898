package match

import (
	"context"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// Live video: VideoStream matches the picture of a query that arrives
// over time as Stream matches its sound, and StreamFuser joins the two
// into the segments MatchMedia would give, as they become final.
//
// VideoStream searches windows of videoStreamWindowS seconds every
// videoStreamHopS seconds with MatchVideo, and merges the segments found
// in overlapping windows: same work, offsets within videoStreamOffsetS,
// no more than videoStreamJoinS apart; of two segments of one work at
// different offsets over the same seconds (a looped or periodic
// picture), the better matched stays. A segment is returned once no later
// window can reach it, about a window after it ends. Memory is one window
// of frames plus the open segments, whatever the length of the stream.
const (
	// videoStreamWindowS: the 10 s clip the video matcher is tuned for;
	// with the hop, every 10 s of a stream lies in some window at least
	// three quarters whole, and a segment is final 10-15 s after it ends.
	videoStreamWindowS = 10
	// videoStreamHopS: half a window.
	videoStreamHopS = 5
	// videoStreamJoinS: segments of consecutive windows that overlap or
	// are this close are one.
	videoStreamJoinS = 1.0
	// videoStreamOffsetS: how far the offsets of two windows' segments may
	// differ and still be one segment (the matcher's offsets are exact to
	// a frame or two).
	videoStreamOffsetS = 0.5
)

// VideoStream matches the picture of a query that arrives over time. It
// is used by one goroutine.
type VideoStream struct {
	m        *Matcher
	fps      float64
	win, hop uint32 // frames

	frames  []fingerprint.VideoFrameHashes // absolute indexes, from the last window's start on
	horizon uint32                         // every frame below this has been added
	next    uint32                         // start of the next window to search
	done    int                            // windows searched
	open    []Segment                      // absolute query times; a later window may extend them
	closed  bool
}

// NewVideoStream returns a stream matcher for the picture.
func (m *Matcher) NewVideoStream() *VideoStream {
	fps := m.store.VideoParams().FPS
	return &VideoStream{
		m:   m,
		fps: float64(fps),
		win: uint32(videoStreamWindowS * fps),
		hop: uint32(videoStreamHopS * fps),
	}
}

// Add adds hashed query frames (in order, after any added before) and
// declares that every frame numbered below horizon has now been added.
// It searches the windows that became complete and returns the segments
// that are now final, in query order.
func (s *VideoStream) Add(ctx context.Context, frames []fingerprint.VideoFrameHashes, horizon uint32) ([]Segment, error) {
	s.frames = append(s.frames, frames...)
	s.horizon = max(s.horizon, horizon)
	// As for sound: window 0 waits until the query is longer than 1.5
	// windows; a shorter one is searched whole by Close.
	for s.next+s.win <= s.horizon && (s.done > 0 || s.horizon > s.win*3/2) {
		if err := s.search(ctx, s.next, s.win); err != nil {
			return nil, err
		}
		s.next += s.hop
		s.trim()
	}
	return s.final(false), nil
}

// Due reports whether Add with this horizon would search a window.
func (s *VideoStream) Due(horizon uint32) bool {
	h := max(s.horizon, horizon)
	return s.next+s.win <= h && (s.done > 0 || h > s.win*3/2)
}

// Close ends the query: it searches what is left and returns every
// remaining segment, in query order.
func (s *VideoStream) Close(ctx context.Context) ([]Segment, error) {
	switch {
	case s.done == 0:
		if err := s.search(ctx, 0, max(s.horizon, 1)); err != nil {
			return nil, err
		}
	case s.next-s.hop+s.win < s.horizon:
		if err := s.search(ctx, s.horizon-min(s.win, s.horizon), s.win); err != nil {
			return nil, err
		}
	}
	s.frames, s.closed = nil, true
	return s.final(true), nil
}

// Final is the query time (seconds) before which every segment that ends
// there has been returned.
func (s *VideoStream) Final() float64 {
	if s.closed {
		return math.Inf(1)
	}
	return float64(s.next)/s.fps - videoStreamJoinS
}

// OpenFrom is the earliest query time (seconds) at which a segment not yet
// returned may start.
func (s *VideoStream) OpenFrom() float64 {
	if s.closed {
		return math.Inf(1)
	}
	t := float64(s.next) / s.fps
	for _, o := range s.open {
		t = math.Min(t, o.QueryStart)
	}
	return t
}

// search matches the window [start, start+win) and merges what it finds
// into the open segments.
func (s *VideoStream) search(ctx context.Context, start, win uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.done++
	q := &fingerprint.VideoPrint{Sampled: int(win)}
	for _, f := range s.frames {
		if f.Index >= start && f.Index < start+win {
			f.Index -= start
			q.Frames = append(q.Frames, f)
		}
	}
	segs, err := s.m.MatchVideo(ctx, q)
	if err != nil {
		return err
	}
	shift := float64(start) / s.fps
	for _, g := range segs {
		g.QueryStart, g.QueryEnd = round3(g.QueryStart+shift), round3(g.QueryEnd+shift)
		s.open = mergeVideoSegment(s.open, g, videoStreamJoinS)
	}
	return nil
}

// mergeVideoSegment adds g to open, joined with an open segment of the
// same work at the same offset that it overlaps or nearly meets; where
// one of the same work at another offset covers half of either, only the
// better matched of the two is kept.
func mergeVideoSegment(open []Segment, g Segment, gapS float64) []Segment {
	off := g.RefStart - g.QueryStart
	for i, o := range open {
		if o.Work.Num != g.Work.Num {
			continue
		}
		if math.Abs(o.RefStart-o.QueryStart-off) > videoStreamOffsetS {
			ov := math.Min(o.QueryEnd, g.QueryEnd) - math.Max(o.QueryStart, g.QueryStart)
			if ov < 0.5*math.Min(o.QueryEnd-o.QueryStart, g.QueryEnd-g.QueryStart) {
				continue
			}
			if g.Score > o.Score {
				open[i] = g
			}
			return open
		}
		if g.QueryStart > o.QueryEnd+gapS || o.QueryStart > g.QueryEnd+gapS {
			continue
		}
		if g.Score > o.Score {
			// The better-matched window's offset and work record win.
			o.Work, o.Score = g.Work, g.Score
			off = g.RefStart - g.QueryStart
		} else {
			off = o.RefStart - o.QueryStart
		}
		o.QueryStart, o.QueryEnd = math.Min(o.QueryStart, g.QueryStart), math.Max(o.QueryEnd, g.QueryEnd)
		o.RefStart, o.RefEnd = round3(o.QueryStart+off), round3(o.QueryEnd+off)
		o.Confidence = math.Max(o.Confidence, g.Confidence)
		open[i] = o
		return open
	}
	return append(open, g)
}

// trim drops the frames no later window reads (the tail window Close may
// search starts after the last searched one, s.next-s.hop).
func (s *VideoStream) trim() {
	keep := s.next - min(s.hop, s.next)
	i := slices.IndexFunc(s.frames, func(f fingerprint.VideoFrameHashes) bool { return f.Index >= keep })
	if i < 0 {
		i = len(s.frames)
	}
	s.frames = append(s.frames[:0], s.frames[i:]...)
}

// final returns the open segments no later window can extend (all of
// them when closing) and removes them from the open set.
func (s *VideoStream) final(closing bool) []Segment {
	var ready []Segment
	keep := s.open[:0]
	limit := float64(s.next) / s.fps
	for _, o := range s.open {
		if closing || o.QueryEnd+videoStreamJoinS < limit {
			ready = append(ready, o)
		} else {
			keep = append(keep, o)
		}
	}
	s.open = keep
	sortSegments(ready)
	return ready
}

// StreamFuser joins the final segments of a live query's sound (Stream)
// and picture (VideoStream) as Fuse joins a file's: a segment is held
// until the other modality can no longer return one overlapping it, then
// fused with those it did. Feed it each stream's segments with the
// stream's Final and OpenFrom after every Add, and Done when a stream
// ends (or has nothing to match: no sound, no picture).
type StreamFuser struct {
	audio, video []Segment // returned by their streams, not yet released
	sides        [2]fuserSide
}

type fuserSide struct {
	final, openFrom float64
	done            bool
}

// Sides of a StreamFuser.
const (
	sideAudio = 0
	sideVideo = 1
)

// Audio adds segments from the sound's Stream (final, openFrom: its
// Final and OpenFrom now) and returns the segments now released.
func (f *StreamFuser) Audio(segs []Segment, final, openFrom float64) []Segment {
	f.audio = append(f.audio, segs...)
	f.sides[sideAudio].final, f.sides[sideAudio].openFrom = final, openFrom
	return f.release()
}

// Video is Audio for the picture's VideoStream.
func (f *StreamFuser) Video(segs []Segment, final, openFrom float64) []Segment {
	f.video = append(f.video, segs...)
	f.sides[sideVideo].final, f.sides[sideVideo].openFrom = final, openFrom
	return f.release()
}

// AudioDone and VideoDone declare a stream ended (its Close segments
// given first through Audio or Video); they return what is released.
func (f *StreamFuser) AudioDone() []Segment { f.sides[sideAudio].done = true; return f.release() }

// VideoDone: see AudioDone.
func (f *StreamFuser) VideoDone() []Segment { f.sides[sideVideo].done = true; return f.release() }

// settled reports whether side can no longer return a segment that
// overlaps [.., end] within the fusion tolerance.
func (f *StreamFuser) settled(side int, end float64) bool {
	s := f.sides[side]
	return s.done || (s.final > end+avOffsetTolerance && s.openFrom > end+avOffsetTolerance)
}

func (f *StreamFuser) release() []Segment {
	var ra, rv []Segment
	keepA, keepV := f.audio[:0:0], f.video[:0:0]
	for _, a := range f.audio {
		if f.settled(sideVideo, a.QueryEnd) {
			ra = append(ra, a)
		} else {
			keepA = append(keepA, a)
		}
	}
	for _, v := range f.video {
		if f.settled(sideAudio, v.QueryEnd) {
			rv = append(rv, v)
		} else {
			keepV = append(keepV, v)
		}
	}
	// A released segment takes along the held segments of the other side
	// it overlaps: they are final, only their own partners may not be.
	pull := func(rel []Segment, held []Segment) (taken, kept []Segment) {
		for _, h := range held {
			if slices.ContainsFunc(rel, func(r Segment) bool {
				return r.Work.Num == h.Work.Num && r.QueryStart <= h.QueryEnd && h.QueryStart <= r.QueryEnd
			}) {
				taken = append(taken, h)
			} else {
				kept = append(kept, h)
			}
		}
		return taken, kept
	}
	var took []Segment
	took, keepV = pull(ra, keepV)
	rv = append(rv, took...)
	took, keepA = pull(rv, keepA)
	ra = append(ra, took...)
	f.audio, f.video = keepA, keepV
	if len(ra) == 0 && len(rv) == 0 {
		return nil
	}
	return Fuse(ra, rv)
}
