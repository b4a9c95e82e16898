package match

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVoteThreshold(t *testing.T) {
	dense := func(works, nv int, fill func(w, v int) uint16) []uint16 {
		c := make([]uint16, works*nv)
		for w := range works {
			for v := range nv {
				c[w*nv+v] = fill(w, v)
			}
		}
		return c
	}
	for _, tc := range []struct {
		name          string
		counts        []uint16
		nv            int
		wantThreshold int
		wantWorks     int
	}{
		{"empty", nil, 3, 10, 0},
		{"sparse store: MinAligned", dense(100, 2, func(w, v int) uint16 { return uint16(w % 20) }), 2, 10, 95},
		{"one variant hit", dense(10, 4, func(w, v int) uint16 {
			if v == 3 {
				return 1
			}
			return 0
		}), 4, 10, 10},
		// 10,000 pairs at 12 hits and 5 at 200: only the 5 and then as many
		// 12s as fit would exceed votePairs, so the threshold rises to 13.
		{"dense store: raised", dense(5005, 2, func(w, v int) uint16 {
			if w < 5 {
				return 200
			}
			return 12
		}), 2, 13, 5005},
		{"saturated counts", dense(5000, 1, func(w, v int) uint16 { return 65535 }), 1, 1024, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, works := voteThreshold(tc.counts, tc.nv, 10)
			assert.Equal(t, tc.wantThreshold, th)
			assert.Equal(t, tc.wantWorks, works)
		})
	}
}

func TestVoteKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		w   uint32
		v   uint16
		bin int64
	}{{0, 0, 0}, {1, 18, -5}, {1_000_000, 3, 1 << 20}, {^uint32(0), 255, -(1 << 23)}} {
		w, v, bin := splitVoteKey(voteKey(tc.w, tc.v, tc.bin))
		assert.Equal(t, tc.w, w)
		assert.Equal(t, tc.v, v)
		assert.Equal(t, tc.bin, bin)
		// Adjacent bins are adjacent keys, under the same work and variant.
		assert.Equal(t, voteKey(tc.w, tc.v, tc.bin)+1, voteKey(tc.w, tc.v, tc.bin+1))
	}
}

// TestConfidenceCatalogueCorrection: the confidence of a given alignment
// is unchanged on small stores and falls as more works compete.
func TestConfidenceCatalogueCorrection(t *testing.T) {
	small := confidenceOf(11, 1, 200)
	assert.Equal(t, small, confidenceOf(11, 1, confidenceBaseWorks), "no correction up to the base")
	assert.GreaterOrEqual(t, small, 0.9, "z 7.1 passes on a small store")
	prev := small
	for _, works := range []int{10_000, 100_000, 1_000_000} {
		c := confidenceOf(11, 1, works)
		assert.Less(t, c, prev, "%d works", works)
		prev = c
	}
	assert.Less(t, confidenceOf(11, 1, 100_000), 0.9, "the same z is refused among 100,000 works")
	assert.Greater(t, confidenceOf(60, 4, 1_000_000), 0.99, "a clear match stays certain")
}
