package fingerprint

import (
	"cmp"
	"math"
)

// Hash bit layout (version hashLayoutVersion), least significant bit first:
//
//	bits    field        meaning
//	 0- 5   dtLevel      floor(time2 - time1), in frames, MinDeltaFrames..MaxDeltaFrames-1
//	 6-12   deltaLevel   floor((pitch2-pitch1 + MaxDeltaSemitones) / step)
//	13-20   anchorLevel  floor((pitch1 + maxPitchShiftSemitones) / step)
//	21-31   zero
//
// step is AudioParams.FreqStepSemitones. Pitches are semitones above
// MinFreqHz, so deltaLevel is invariant to any change of pitch (it is a
// ratio of frequencies) and a pitch shift of the whole query moves only
// anchorLevel; a tempo change scales only dt.
//
// Design note: an earlier layout paired each anchor with its nearest
// peaks in time, with integer frame differences. At 40 peaks a second that
// left dt almost always 1-5 frames (two bits of entropy): a 10 s query of
// noise hit every 3-minute work some 10,000 times, and unrelated works
// aligned as well as the right one did under noise. The target zone
// (dt >= MinDeltaFrames, |delta| <= MaxDeltaSemitones) and interpolated,
// soft-quantised times fixed both.
const (
	hashLayoutVersion = 2
	dtBits            = 6
	deltaFreqBits     = 7
	anchorBits        = 8
	// HashBits is the number of significant bits of a hash.
	HashBits = dtBits + deltaFreqBits + anchorBits

	// maxPitchShiftSemitones is the largest pitch shift a query variant may
	// apply; the anchor field keeps room for it.
	maxPitchShiftSemitones = 2.0

	// softMargin is how close (in quantisation steps) a query value must be
	// to a level boundary for the neighbouring level to be looked up too.
	// Reference hashes use exact levels; only queries pay for the margin.
	softMargin = 0.2
	// softMarginFrames is the same for time differences, in frames: peak
	// times jitter by about a tenth of a frame between two decodings.
	softMarginFrames = 0.25
)

// Landmark is one hashed pair of peaks of a reference: the hash and the
// anchor's time in frames.
type Landmark struct {
	Hash uint32
	Time float32
}

// CompareLandmarks orders landmarks by hash, then time.
func CompareLandmarks(x, y Landmark) int {
	return cmp.Or(cmp.Compare(x.Hash, y.Hash), cmp.Compare(x.Time, y.Time))
}

// Pairs calls fn for every (anchor, target) pair of peaks, with indexes
// into peaks. Peaks must be in time order. The target zone of an anchor,
// from MinDeltaFrames to MaxDeltaFrames later and within
// MaxDeltaSemitones, is cut into FanOut sub-zones of equal duration; the
// strongest peak of each sub-zone is a target. One target per sub-zone
// spreads the time differences over the whole zone (entropy), and the
// strongest peak is the one noise is least likely to displace.
func (p AudioParams) Pairs(peaks []Peak, fn func(i, j int)) {
	p.pairs(peaks, 1, fn)
}

// pairs is Pairs with the perZone strongest peaks of each sub-zone as
// targets (strongest first).
func (p AudioParams) pairs(peaks []Peak, perZone int, fn func(i, j int)) {
	minDt, maxDt := float32(p.MinDeltaFrames), float32(p.MaxDeltaFrames)
	width := (maxDt - minDt) / float32(p.FanOut)
	// best[z*perZone+r] is the index of the sub-zone z's r-th strongest
	// peak so far, -1 when there is none.
	best := make([]int, p.FanOut*perZone)
	for i := range peaks {
		for z := range best {
			best[z] = -1
		}
		p.targetZone(peaks, i, func(j int, dt float32) {
			b := peaks[j]
			z := min(p.FanOut-1, int((dt-minDt)/width))
			zone := best[z*perZone : (z+1)*perZone]
			// Insert j by strength; on a tie the earlier peak stays first.
			for r := range zone {
				if zone[r] < 0 || b.Strength > peaks[zone[r]].Strength {
					copy(zone[r+1:], zone[r:len(zone)-1])
					zone[r] = j
					break
				}
			}
		})
		for _, j := range best {
			if j >= 0 {
				fn(i, j)
			}
		}
	}
}

// targetZone calls fn with every peak of anchor i's target zone, in time
// order, and its time after the anchor: the peaks MinDeltaFrames to
// MaxDeltaFrames later and within MaxDeltaSemitones of the anchor's pitch.
func (p AudioParams) targetZone(peaks []Peak, i int, fn func(j int, dt float32)) {
	minDt, maxDt := float32(p.MinDeltaFrames), float32(p.MaxDeltaFrames)
	maxDp := float32(p.MaxDeltaSemitones)
	a := peaks[i]
	for j := i + 1; j < len(peaks); j++ {
		b := peaks[j]
		dt := b.Time - a.Time
		if dt < minDt {
			continue
		}
		if dt >= maxDt {
			break
		}
		if dp := b.Pitch - a.Pitch; dp > maxDp || dp < -maxDp {
			continue
		}
		fn(j, dt)
	}
}

// Landmarks returns the hashes of a reference print, in anchor order.
func (p AudioParams) Landmarks(peaks []Peak) []Landmark {
	out := make([]Landmark, 0, len(peaks)*p.FanOut)
	step := p.FreqStepSemitones
	p.Pairs(peaks, func(i, j int) {
		a, b := peaks[i], peaks[j]
		al := level(float64(a.Pitch)+maxPitchShiftSemitones, step)
		dl := level(float64(b.Pitch-a.Pitch)+p.MaxDeltaSemitones, step)
		dt := int(math.Floor(float64(b.Time - a.Time)))
		out = append(out, Landmark{Hash: packHash(al, dl, dt), Time: a.Time})
	})
	return out
}

func level(x, step float64) int { return int(math.Floor(x / step)) }

// HashDeltaFrames returns the time from a hash's anchor to its target, in
// frames at the print's time scale (a query variant's hashes are at the
// variant's scale).
func HashDeltaFrames(h uint32) int { return int(h & (1<<dtBits - 1)) }

func packHash(anchor, delta, dt int) uint32 {
	return uint32(anchor)<<(dtBits+deltaFreqBits) | uint32(delta)<<dtBits | uint32(dt)
}

// Variant is a hypothesis about how a query was altered relative to the
// reference: the query is re-read under it before hashing.
type Variant struct {
	// TimeScale is reference frames per query frame: 1.05 when the query
	// plays 5 % fast (a 10 s query covers 10.5 s of the reference).
	TimeScale float64
	// PitchShift is added to the query's pitches, in semitones: -0.84
	// undoes a query played 5 % fast (whose pitch rose by 0.84).
	PitchShift float64
}

// Speed returns the variant of a query played at speed ratio s (tempo and
// pitch together, as on a turntable or radio).
func Speed(s float64) Variant {
	return Variant{TimeScale: s, PitchShift: -12 * math.Log2(s)}
}

// QueryHashes calls fn for every hash a reference would hold for the
// query's pairs under variant v, with the anchor time in reference frames
// (relative to the query's start). Values near a quantisation boundary
// yield the neighbouring hash too, so one pair can yield up to eight
// hashes; pair is the index of the pair, equal for all of them.
func (p AudioParams) QueryHashes(peaks []Peak, v Variant, fn func(pair int, time float64, hash uint32)) {
	p.QueryHashesK(peaks, v, 1, fn)
}

// QueryHashesK is QueryHashes with the k strongest peaks of each target
// sub-zone as targets, not only the strongest: the reference's target is
// the strongest of its own peaks, which under noise may rank second or
// third among the query's.
func (p AudioParams) QueryHashesK(peaks []Peak, v Variant, k int, fn func(pair int, time float64, hash uint32)) {
	step := p.FreqStepSemitones
	maxAnchor := 1<<anchorBits - 1
	var al, dl, dts [2]int
	pair := 0
	p.pairs(peaks, max(k, 1), func(i, j int) {
		a, b := peaks[i], peaks[j]
		na := softLevels(float64(a.Pitch)+v.PitchShift+maxPitchShiftSemitones, 1/step, softMargin, &al)
		nd := softLevels(float64(b.Pitch-a.Pitch)+p.MaxDeltaSemitones, 1/step, softMargin, &dl)
		nt := softLevels(float64(b.Time-a.Time)*v.TimeScale, 1, softMarginFrames, &dts)
		t := float64(a.Time) * v.TimeScale
		for x := range na {
			if al[x] < 0 || al[x] > maxAnchor {
				continue
			}
			for y := range nd {
				for z := range nt {
					if dts[z] < p.MinDeltaFrames || dts[z] >= p.MaxDeltaFrames {
						continue
					}
					fn(pair, t, packHash(al[x], dl[y], dts[z]))
				}
			}
		}
		pair++
	})
}

// softLevels writes floor(x*scale) and, when x*scale is within margin of
// a level boundary, the neighbouring level; it returns how many it wrote.
func softLevels(x, scale, margin float64, out *[2]int) int {
	q := x * scale
	l := math.Floor(q)
	out[0] = int(l)
	switch f := q - l; {
	case f < margin:
		out[1] = int(l) - 1
		return 2
	case f > 1-margin:
		out[1] = int(l) + 1
		return 2
	}
	return 1
}
