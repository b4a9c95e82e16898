package match

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/index"
)

const (
	// mergeToleranceFrames: two windows' hits of the same work belong to
	// one segment when their alignments agree within this many frames.
	mergeToleranceFrames = 16
	// snapFrames: a segment whose start (end) lies within this many
	// frames of the query's start (end) is taken to reach it; peaks are
	// sparse, so the first anchor and the last target are rarely at the
	// very edge.
	snapFrames = 47
)

// merge sorts window hits by work and time and merges those of the same
// work whose alignments agree into one.
func (m *Matcher) merge(hits []windowHit) []windowHit {
	slices.SortFunc(hits, func(x, y windowHit) int {
		if x.num != y.num {
			return int(x.num) - int(y.num)
		}
		return int(x.first) - int(y.first)
	})
	merged := make([]windowHit, 0, len(hits))
	for _, h := range hits {
		if n := len(merged); n > 0 {
			p := &merged[n-1]
			at := h.first
			if p.num == h.num && h.first <= p.last+m.p.HopSeconds/m.fp.FrameDuration()+snapFrames &&
				math.Abs((p.a*at+p.b)-(h.a*at+h.b)) <= mergeToleranceFrames {
				// Repeats, as intercepts of the stronger window's line.
				alsoAt := make([]float64, 0, len(p.alsoAt)+len(h.alsoAt))
				alsoAt = append(append(alsoAt, p.alsoAt...), h.alsoAt...)
				if h.score > p.score {
					p.a, p.b, p.pitch = h.a, h.b, h.pitch
				}
				p.alsoAt = distinctIntercepts(alsoAt, p.b)
				p.first = min(p.first, h.first)
				p.last = max(p.last, h.last)
				p.score = max(p.score, h.score)
				p.confidence = max(p.confidence, h.confidence)
				p.background = max(p.background, h.background)
				continue
			}
		}
		merged = append(merged, h)
	}

	return merged
}

// distinctIntercepts returns the intercepts bs without those within
// mergeToleranceFrames of b or of an earlier one, at most maxAlsoAt.
func distinctIntercepts(bs []float64, b float64) []float64 {
	var out []float64
	for _, x := range bs {
		if math.Abs(x-b) <= mergeToleranceFrames || len(out) == maxAlsoAt ||
			slices.ContainsFunc(out, func(y float64) bool { return math.Abs(x-y) <= mergeToleranceFrames }) {
			continue
		}
		out = append(out, x)
	}
	return out
}

// segments turns merged hits into segments, in query order.
func (m *Matcher) segments(merged []windowHit, totalFrames int) ([]Segment, error) {
	frameDur := m.fp.FrameDuration()
	out := make([]Segment, 0, len(merged))
	for _, h := range merged {
		w, err := m.store.GetNum(h.num)
		if errors.Is(err, index.ErrNotFound) {
			continue // deleted while we matched
		}
		if err != nil {
			return nil, fmt.Errorf("match: work %d: %w", h.num, err)
		}
		qs := h.first
		qe := h.last
		if h.first <= snapFrames {
			qs = 0
		}
		if int(h.last)+snapFrames >= totalFrames {
			qe = float64(totalFrames)
		}
		qe = math.Min(qe, float64(totalFrames))
		// Keep the segment inside the work.
		if rs := h.a*qs + h.b; rs < 0 {
			qs = -h.b / h.a
		}
		if refFrames := w.DurationS / frameDur; h.a*qe+h.b > refFrames {
			qe = (refFrames - h.b) / h.a
		}
		if qe <= qs {
			continue
		}
		var alsoAt []float64
		for _, b := range h.alsoAt {
			// The repeat must hold the whole segment inside the work.
			if rs, re := h.a*qs+b, h.a*qe+b; rs >= 0 && re*frameDur <= w.DurationS+0.5 {
				alsoAt = append(alsoAt, round3(rs*frameDur))
			}
		}
		slices.Sort(alsoAt)
		out = append(out, Segment{
			AlsoAt:     alsoAt,
			Work:       w,
			QueryStart: round3(qs * frameDur),
			QueryEnd:   round3(qe * frameDur),
			RefStart:   round3((h.a*qs + h.b) * frameDur),
			RefEnd:     round3((h.a*qe + h.b) * frameDur),
			Score:      h.score,
			Confidence: round3(h.confidence),
			Speed:      round3(h.a),
			PitchShift: round3(h.pitch),
			Background: round3(h.background),
			Modality:   ModalityAudio,
		})
	}
	sortSegments(out)
	return out, nil
}

// sortSegments orders segments by query start, the stronger first.
func sortSegments(out []Segment) {
	slices.SortFunc(out, func(x, y Segment) int {
		switch {
		case x.QueryStart < y.QueryStart:
			return -1
		case x.QueryStart > y.QueryStart:
			return 1
		}
		return y.Score - x.Score
	})
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
