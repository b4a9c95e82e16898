package fingerprint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTripletsOfAnAnchor: a reference pairs an anchor with the strongest
// peak of its target zone and the strongest at least half a semitone
// from it, in time order; a query with every two of its strongest at
// least that far apart. Peaks on the anchor's own pitch are no targets.
func TestTripletsOfAnAnchor(t *testing.T) {
	p := DefaultAudioParams() // zone: 2 to 48 frames, within 12 semitones
	peaks := []Peak{
		{Time: 0, Pitch: 10, Strength: 1},      // 0: anchor
		{Time: 1, Pitch: 11, Strength: 9},      // 1: too early
		{Time: 4, Pitch: 12, Strength: 3},      // 2
		{Time: 6, Pitch: 10.2, Strength: 8},    // 3: on the anchor's pitch
		{Time: 9, Pitch: 13, Strength: 5},      // 4: strongest
		{Time: 12, Pitch: 13.1, Strength: 4.5}, // 5: second, but on 4's pitch
		{Time: 20, Pitch: 9, Strength: 4},      // 6: third
		{Time: 21, Pitch: 40, Strength: 9},     // 7: too far in pitch
		{Time: 60, Pitch: 10, Strength: 9},     // 8: too late
	}
	collect := func(k int, ref bool) [][3]int {
		var out [][3]int
		p.triplets(peaks, k, ref, func(i, j, l int) {
			if i == 0 {
				out = append(out, [3]int{i, j, l})
			}
		})
		return out
	}
	assert.Equal(t, [][3]int{{0, 4, 6}}, collect(tripletRefCandidates, true))
	assert.Equal(t, [][3]int{{0, 4, 6}, {0, 5, 6}}, collect(3, false))
	assert.Equal(t, [][3]int{{0, 4, 6}, {0, 2, 4}, {0, 5, 6}, {0, 2, 5}, {0, 2, 6}}, collect(4, false))
}

// TestTripletTime: the anchor and the span (to half a frame) survive the
// packing a posting carries.
func TestTripletTime(t *testing.T) {
	for _, tc := range []Triplet{{Time: 0, Span: 2}, {Time: 12345.6, Span: 47.8}, {Time: 1 << 24, Span: 30.25}} {
		a, s := SplitTripletTime(TripletTime(tc))
		assert.Equal(t, uint32(tc.Time), a)
		assert.InDelta(t, tc.Span, s, 0.25)
	}
}

// TestTripletKeysInvariant: the keys of a print played faster or slower,
// with or without its pitch, or transposed, are keys its query looks up.
// Every reference key comes back when only the pitch moves (the zone is
// the same peaks); when the time scale changes the zone's edges move over
// other peaks, and most come back.
func TestTripletKeysInvariant(t *testing.T) {
	p := DefaultAudioParams()
	rng := rand.New(rand.NewPCG(3, 4))
	var peaks []Peak
	for range 2000 { // 50 s at 40 peaks a second
		peaks = append(peaks, Peak{Time: QuantizeTime(float32(rng.Float64() * 1560)), Pitch: QuantizePitch(float32(6 + rng.Float64()*56)),
			Strength: QuantizeStrength(float32(0.5 + 4*rng.Float64()))})
	}
	slices.SortFunc(peaks, func(a, b Peak) int { return int(a.Time*16) - int(b.Time*16) })
	ref := map[uint32]bool{}
	for _, tr := range p.RefTriplets(peaks) {
		ref[tr.Key] = true
	}
	for _, tc := range []struct {
		name         string
		speed, pitch float64 // query time is reference time / speed; pitch is added
		wantAtLeast  float64
	}{
		{"identity", 1, 0, 1},
		{"pitch +3 semitones", 1, 3, 1},
		{"pitch -4.5 semitones", 1, -4.5, 1},
		{"speed 1.15", 1.15, 12 * math.Log2(1.15), 0.7},
		{"speed 0.85", 0.85, 12 * math.Log2(0.85), 0.7},
		{"tempo 1.2", 1.2, 0, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := make([]Peak, len(peaks))
			for i, pk := range peaks {
				q[i] = Peak{Time: float32(float64(pk.Time) / tc.speed), Pitch: pk.Pitch + float32(tc.pitch), Strength: pk.Strength}
			}
			looked := map[uint32]bool{}
			p.QueryTriplets(q, func(tr Triplet) {
				looked[tr.Key] = true
				require.True(t, IsTripletKey(tr.Key))
			})
			found := 0
			for k := range ref {
				if looked[k] {
					found++
				}
			}
			assert.GreaterOrEqual(t, float64(found)/float64(len(ref)), tc.wantAtLeast, "%d of %d keys", found, len(ref))
		})
	}
}
