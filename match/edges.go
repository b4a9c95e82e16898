package match

import (
	"cmp"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// extendEdges moves each hit's edges outwards over the stretches of the
// window where the work's own peaks are still in the query (extendEdge).
func (m *Matcher) extendEdges(peaks []fingerprint.Peak, frames int, hits []windowHit) []windowHit {
	if len(peaks) == 0 {
		return hits
	}
	for i := range hits {
		ref, err := m.refPeaks(hits[i].num)
		if err != nil {
			continue // deleted meanwhile: the hit keeps its edges
		}
		extendEdge(&hits[i], peaks, ref, frames)
	}
	return hits
}

// extendEdge moves h's edges outwards over the stretches of the window
// (frames long, its peaks in time order) where the reference's peaks
// (ref) are still in the query. An edge found from hashes stops at the
// last anchor whose hash survived with its target: where a codec thins
// the spectrum (AAC at 64 kb/s fills bands with noise), a work's last
// second can keep many of its peaks but few of their pairs, and its use
// ended a second or more early.
//
// Peaks are checked one by one at the hit's speed, offset and pitch: a
// reference peak is found when the query has a peak within peakTolFrames
// and peakTolSemitones of it. Inside the edge, over shareFrames, the
// work's peaks are found at a rate pw; outside it, where the walk goes,
// the reference's peaks moved by decoySemitones, where only chance can
// find them, at a rate pc (taken as at least minChance). Going
// outwards from the edge peak by peak, each found peak adds log(pw/pc)
// to the evidence that the work still plays, each one missed
// log((1-pw)/(1-pc)); the edge moves to the found peak where the
// evidence is highest, if it reaches minEdgeEvidence (a change point, as
// in CUSUM). Beyond the work's end the peaks are found at the chance
// rate and the evidence falls; at maxExtendFrames the walk stops.
func extendEdge(h *windowHit, peaks, ref []fingerprint.Peak, frames int) {
	if h.a <= 0 {
		return
	}
	// The reference's peaks near the edges, in query time and pitch.
	var mapped []fingerprint.Peak
	near := func(q float64) bool {
		return q >= h.first-maxExtendFrames && q <= h.first+shareFrames ||
			q >= h.last-shareFrames && q <= h.last+maxExtendFrames
	}
	// The reference's peaks are in time order and q grows with their
	// time: only those from the first region's start on are read (a
	// frame early, for rounding; near keeps the region exact).
	from := float32(h.a*(h.first-maxExtendFrames)+h.b) - 1
	lo, _ := slices.BinarySearchFunc(ref, from, func(p fingerprint.Peak, t float32) int { return cmp.Compare(p.Time, t) })
	for _, r := range ref[lo:] {
		q := (float64(r.Time) - h.b) / h.a
		if q > h.last+maxExtendFrames || q >= float64(frames) {
			break
		}
		if near(q) && q >= 0 {
			mapped = append(mapped, fingerprint.Peak{Time: float32(q), Pitch: r.Pitch + float32(h.pitch)})
		}
	}
	found := func(r fingerprint.Peak, shift float32) bool {
		lo, _ := slices.BinarySearchFunc(peaks, r.Time-peakTolFrames, func(p fingerprint.Peak, t float32) int {
			return cmp.Compare(p.Time, t)
		})
		for _, p := range peaks[lo:] {
			if p.Time > r.Time+peakTolFrames {
				break
			}
			if d := p.Pitch - r.Pitch - shift; d <= peakTolSemitones && d >= -peakTolSemitones {
				return true
			}
		}
		return false
	}
	// rates returns the share of the mapped peaks in [a, b) found, the
	// share found when moved by ±decoySemitones, and how many there are.
	rates := func(a, b float64) (pw, pc float64, n int) {
		var k, c int
		for _, r := range mapped {
			if t := float64(r.Time); t < a || t >= b {
				continue
			}
			n++
			if found(r, 0) {
				k++
			}
			if found(r, decoySemitones) {
				c++
			}
			if found(r, -decoySemitones) {
				c++
			}
		}
		d := float64(max(n, 1))
		return float64(k) / d, float64(c) / (2 * d), n
	}
	// walk returns the time of the found peak where the evidence is
	// highest, going through the mapped peaks of idx in order, or -1.
	walk := func(idx []int, pw, pc float64) float64 {
		hit, miss := math.Log(pw/pc), math.Log((1-pw)/(1-pc))
		var sum, best float64
		at := -1.0
		for _, i := range idx {
			if found(mapped[i], 0) {
				sum += hit
				if sum > best {
					best, at = sum, float64(mapped[i].Time)
				}
			} else {
				sum += miss
			}
		}
		if best < minEdgeEvidence {
			return -1
		}
		return at
	}
	// extend returns the edge's new time, or -1: pw is the rate inside
	// the edge, pc the decoys' rate in [lo, hi) outside it, idx the
	// mapped peaks outside, outwards. A work found at no more than twice
	// the chance rate gives no evidence either way.
	extend := func(pw float64, n int, lo, hi float64, idx []int) float64 {
		_, pc, _ := rates(lo, hi)
		pw, pc = min(pw, 0.95), max(pc, minChance)
		if n < minEdgePeaks || pw < 2*pc {
			return -1
		}
		return walk(idx, pw, pc)
	}
	var idx []int
	for i := len(mapped) - 1; i >= 0; i-- {
		if t := float64(mapped[i].Time); t < h.first && t >= h.first-maxExtendFrames {
			idx = append(idx, i)
		}
	}
	pw, _, n := rates(h.first, h.first+shareFrames)
	if t := extend(pw, n, h.first-maxExtendFrames, h.first, idx); t >= 0 {
		h.first = t
	}
	idx = idx[:0]
	for i, r := range mapped {
		if t := float64(r.Time); t > h.last && t <= h.last+maxExtendFrames {
			idx = append(idx, i)
		}
	}
	pw, _, n = rates(h.last-shareFrames, h.last)
	if t := extend(pw, n, h.last, h.last+maxExtendFrames, idx); t >= 0 {
		h.last = t
	}
}

// Parameters of extendEdge. The tolerances are those of a peak decoded
// through different codecs (a tenth of a frame, a fraction of a
// semitone) with room for the fitted speed's drift over a few seconds.
// decoySemitones moves a peak far enough from its own (past the
// tolerance and the print's pitch smearing) to measure what chance
// finds in the same music. minChance: a music's peaks, some thirty a
// second over three octaves, fill about 5 % of the tolerance's boxes;
// a decoy count lower than that is a small sample's luck.
// minEdgeEvidence: an edge moves only on a likelihood ratio of 20 or
// more. minEdgePeaks: an edge with fewer reference peaks inside it has
// no rate to go by.
const (
	peakTolFrames    = 1.5
	peakTolSemitones = 0.5
	decoySemitones   = 2.5
	minEdgeEvidence  = 3.0 // log(20)
	minEdgePeaks     = 8
	minChance        = 0.05
	maxExtendFrames  = 94 // 3 s
)
