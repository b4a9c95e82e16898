package fingerprint

import (
	"math"
	"slices"
)

// Triplet keys: an anchor peak and two later targets, hashed into a key a
// change of speed, tempo or pitch leaves unchanged, so that a query is
// looked up once, not under a grid of speed and pitch hypotheses.
//
// Key bit layout (version hashLayoutVersion), least significant bit first:
//
//	bits    field       meaning
//	 0- 5   ratio       floor(64 * (t2-t1) / (t3-t1)): where the first target
//	                    falls between the anchor and the second; a ratio of
//	                    time differences, unchanged by any time scaling
//	 6-12   d2          floor((pitch2-pitch1 + MaxDeltaSemitones) / step)
//	13-19   d3          floor((pitch3-pitch1 + MaxDeltaSemitones) / step)
//	20-21   band        floor(4 * log(dt13/MinDeltaFrames) / log(MaxDeltaFrames/MinDeltaFrames)):
//	                    the span's coarse length, which a speed change moves
//	                    by at most one band within TripletMaxSpeed
//	30      1           TripletKeySpace
//	31      0
//
// step is AudioParams.FreqStepSemitones. d2 and d3 are frequency ratios
// (semitone differences), unchanged by a pitch shift or a speed change,
// which moves every pitch of the query by the same amount. The band is the
// only field a speed change moves; a query looks up every band its span
// can reach within [1/TripletMaxSpeed, TripletMaxSpeed] (one or two).
// The speed and the pitch shift themselves are recovered when a candidate
// is aligned: the ratio of the matched spans (t3-t1) and the difference of
// the matched anchors' pitches.
//
// A reference pairs each anchor with the two strongest peaks of its target
// zone (the zone of Pairs): one key per peak, about 24 a second, a quarter
// of the pair hashes. A query pairs each anchor with any two of its
// TripletQueryTargets strongest, so that a reference's targets are found
// among the query's even when noise has reordered them.
//
// Design note: three peaks, not two, because the pair hash holds ~19 bits
// of real entropy and its postings lists grow with the store; and
// invariant fields, not absolute times and pitches, because every
// absolute field must be searched under every hypothesis of the change.
const (
	// TripletKeySpace is the bit set in every triplet key: triplet
	// postings share the index's postings with the pair hashes (all below
	// 1<<21) and the video keys (VideoKeySpace, 1<<30, with bit 29 clear).
	TripletKeySpace    = 1<<30 | 1<<29
	tripletRatioBits   = 6
	tripletRatioLevels = 1 << tripletRatioBits
	tripletDeltaBits   = 7
	tripletBandBits    = 2
	tripletBands       = 1 << tripletBandBits
	// TripletBits is the number of significant bits of a triplet key.
	TripletBits = tripletRatioBits + 2*tripletDeltaBits + tripletBandBits

	// TripletQueryTargets is how many of the strongest peaks of an
	// anchor's target zone a query pairs the anchor with (any two of
	// them). References use the two strongest; under noise or another
	// song those are often the query's third or fourth.
	TripletQueryTargets = 5
	// TripletMaxSpeed bounds the speed change (tempo, with or without
	// pitch) the band lookup covers: from 1/TripletMaxSpeed to
	// TripletMaxSpeed. 1.25 covers what radio, DJs and re-uploads do
	// (a few percent) and the 0.8-1.25 edits meant to evade matching.
	TripletMaxSpeed = 1.25

	// tripletRatioMargin is how close (in ratio levels) a query's ratio
	// must be to a level boundary for the neighbouring level to be looked
	// up too: peak times jitter by about a tenth of a frame, a tenth of a
	// level on a span of 40 frames.
	tripletRatioMargin = 0.25
	// tripletMinGapFrames is the least time between the two targets: with
	// nearly simultaneous targets the ratio is decided by jitter.
	tripletMinGapFrames = 1
	// tripletMinPitchGap is the least pitch difference, in semitones,
	// between any two peaks of a triplet. A held note leaves a row of
	// peaks at one pitch: triplets along it (both differences zero) were
	// 8.5 % of a store's triplets under a few hundred keys, which cost
	// every lookup of them and say little.
	tripletMinPitchGap = 0.5
	// tripletRefCandidates is how many of a zone's strongest peaks a
	// reference chooses its two targets from.
	tripletRefCandidates = 8
)

// Triplet is one key of a print: the key and its anchor peak's time and
// pitch, and the span from the anchor to the later target.
type Triplet struct {
	Key  uint32
	Time float32 // the anchor's time, frames
	Span float32 // t3 - t1, frames
	// Pitch is the anchor's pitch, semitones above MinFreqHz.
	Pitch float32
}

// TripletTime packs a reference triplet's anchor time (whole frames) and
// span (half frames) into the time a posting carries: anchor<<7 | span.
// The span lets a vote compare the reference's span with the query's,
// which gives the speed before any alignment; half frames keep that
// estimate within 2.5 % on a span of 10 frames. Anchors up to 2^25
// frames (298 hours) fit.
func TripletTime(t Triplet) uint32 {
	span := min(max(math.Round(float64(t.Span)*2), 0), tripletSpanMax)
	return uint32(max(t.Time, 0))<<tripletSpanBits | uint32(span)
}

// SplitTripletTime undoes TripletTime: the anchor time in whole frames
// and the span in frames.
func SplitTripletTime(v uint32) (anchor uint32, span float32) {
	return v >> tripletSpanBits, float32(v&tripletSpanMax) / 2
}

const (
	tripletSpanBits = 7
	tripletSpanMax  = 1<<tripletSpanBits - 1
)

// triplets calls fn for every (anchor, target, target) of peaks (in time
// order), with the targets in time order. The candidate targets of an
// anchor are the peaks of its target zone at least tripletMinPitchGap
// from its pitch; of the perZone strongest, a reference (ref) takes the
// strongest and the strongest at least tripletMinPitchGap from it, a
// query every two at least that far apart.
func (p AudioParams) triplets(peaks []Peak, perZone int, ref bool, fn func(i, j, k int)) {
	best := make([]int, 0, perZone+1) // by strength, strongest first
	apart := func(j, k int) bool {
		b, c := peaks[j], peaks[k]
		dp := b.Pitch - c.Pitch
		return (dp >= tripletMinPitchGap || dp <= -tripletMinPitchGap) &&
			(b.Time-c.Time >= tripletMinGapFrames || c.Time-b.Time >= tripletMinGapFrames)
	}
	for i := range peaks {
		best = best[:0]
		p.targetZone(peaks, i, func(j int, _ float32) {
			b := peaks[j]
			if dp := b.Pitch - peaks[i].Pitch; dp < tripletMinPitchGap && dp > -tripletMinPitchGap {
				return
			}
			// Insert j by strength; on a tie the earlier peak stays first.
			r := len(best)
			for r > 0 && b.Strength > peaks[best[r-1]].Strength {
				r--
			}
			if r < perZone {
				best = slices.Insert(best, r, j)
				if len(best) > perZone {
					best = best[:perZone]
				}
			}
		})
		emit := func(j, k int) {
			if peaks[k].Time < peaks[j].Time {
				j, k = k, j
			}
			fn(i, j, k)
		}
		if ref {
			for _, k := range best[min(1, len(best)):] {
				if apart(best[0], k) {
					emit(best[0], k)
					break
				}
			}
			continue
		}
		for x := range best {
			for y := x + 1; y < len(best); y++ {
				if apart(best[x], best[y]) {
					emit(best[x], best[y])
				}
			}
		}
	}
}

// RefTriplets returns the triplet keys of a reference print, in anchor
// order: each anchor with the strongest peak of its target zone and the
// strongest at least tripletMinPitchGap from it (see triplets).
func (p AudioParams) RefTriplets(peaks []Peak) []Triplet {
	out := make([]Triplet, 0, len(peaks))
	p.triplets(peaks, tripletRefCandidates, true, func(i, j, k int) {
		a, b, c := peaks[i], peaks[j], peaks[k]
		span := float64(c.Time - a.Time)
		band := p.tripletBandPos(span)
		key := p.tripletKey(
			level(float64(b.Pitch-a.Pitch)+p.MaxDeltaSemitones, p.FreqStepSemitones),
			level(float64(c.Pitch-a.Pitch)+p.MaxDeltaSemitones, p.FreqStepSemitones),
			int(math.Floor(float64(b.Time-a.Time)/span*tripletRatioLevels)),
			min(tripletBands-1, max(0, int(math.Floor(band)))))
		out = append(out, Triplet{Key: key, Time: a.Time, Span: c.Time - a.Time, Pitch: a.Pitch})
	})
	return out
}

// QueryTriplets calls fn with every key a reference would hold for the
// query's triplets at any speed within TripletMaxSpeed (t.Key), and the
// triplet's anchor and span: each anchor with every two of its
// TripletQueryTargets strongest targets; a value near a quantisation
// boundary yields the neighbouring key too, and a span whose reference
// could lie in the next band yields that band's key.
func (p AudioParams) QueryTriplets(peaks []Peak, fn func(t Triplet)) {
	step := p.FreqStepSemitones
	var d2, d3, r [2]int
	reach := math.Log(TripletMaxSpeed) / math.Log(float64(p.MaxDeltaFrames)/float64(p.MinDeltaFrames)) * tripletBands
	p.triplets(peaks, TripletQueryTargets, false, func(i, j, k int) {
		a, b, c := peaks[i], peaks[j], peaks[k]
		span := float64(c.Time - a.Time)
		n2 := softLevels(float64(b.Pitch-a.Pitch)+p.MaxDeltaSemitones, 1/step, softMargin, &d2)
		n3 := softLevels(float64(c.Pitch-a.Pitch)+p.MaxDeltaSemitones, 1/step, softMargin, &d3)
		nr := softLevels(float64(b.Time-a.Time)/span, tripletRatioLevels, tripletRatioMargin, &r)
		pos := p.tripletBandPos(span)
		lo := max(0, int(math.Floor(pos-reach)))
		hi := min(tripletBands-1, int(math.Floor(pos+reach)))
		t := Triplet{Time: a.Time, Span: c.Time - a.Time, Pitch: a.Pitch}
		for x := range n2 {
			for y := range n3 {
				for z := range nr {
					if r[z] < 0 || r[z] >= tripletRatioLevels {
						continue
					}
					for band := lo; band <= hi; band++ {
						t.Key = p.tripletKey(d2[x], d3[y], r[z], band)
						fn(t)
					}
				}
			}
		}
	})
}

// tripletBandPos is the span's position on the band scale (its band is
// the floor).
func (p AudioParams) tripletBandPos(span float64) float64 {
	return math.Log(span/float64(p.MinDeltaFrames)) / math.Log(float64(p.MaxDeltaFrames)/float64(p.MinDeltaFrames)) * tripletBands
}

func (p AudioParams) tripletKey(d2, d3, ratio, band int) uint32 {
	const mask = 1<<tripletDeltaBits - 1
	return TripletKeySpace | uint32(band)<<(tripletRatioBits+2*tripletDeltaBits) |
		uint32(d3&mask)<<(tripletRatioBits+tripletDeltaBits) | uint32(d2&mask)<<tripletRatioBits | uint32(ratio)
}

// IsTripletKey reports whether an index key is a triplet key.
func IsTripletKey(k uint32) bool { return k&TripletKeySpace == TripletKeySpace }
