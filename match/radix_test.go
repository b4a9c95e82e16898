package match

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomOffsets returns n offsets spread over span frames around a base
// that may be negative, with hash ids below ids.
func randomOffsets(rng *rand.Rand, n int, span float64, ids uint32) []offPair {
	base := (rng.Float64() - 0.5) * 1e5
	out := make([]offPair, n)
	for i := range out {
		out[i] = packOffset(base+rng.Float64()*span, rng.Uint32N(ids))
	}
	return out
}

func TestSortByOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		n    int
		span float64 // frames
	}{
		{"empty", 0, 10},
		{"short, comparison sort", 100, 1000},
		{"all equal", 5000, 0},
		{"one digit", 5000, 100},                 // 1,600 fixed-point steps
		{"two digits", 20000, 50000},             // about 2^20
		{"three digits", 20000, 1 << 20},         // 2^24
		{"many ties", 20000, 2},                  // 32 distinct offsets
		{"three passes", 3000, float64(1 << 26)}, // 2^30 fixed-point steps
	} {
		t.Run(tc.name, func(t *testing.T) {
			offs := randomOffsets(rng, tc.n, tc.span, 500)
			want := slices.Clone(offs)
			slices.Sort(want)
			sortByOffset(offs, nil)
			// Same multiset, ordered by offset.
			require.True(t, slices.IsSortedFunc(offs, func(a, b offPair) int {
				return int(int64(a>>32) - int64(b>>32))
			}))
			got := slices.Clone(offs)
			slices.Sort(got)
			assert.Equal(t, want, got)
		})
	}
}

// TestSortByOffsetConsumers checks that densest and background, which see
// runs of equal offsets in whatever order the radix sort leaves them,
// answer as they do on fully sorted input.
func TestSortByOffsetConsumers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		offs := randomOffsets(rng, 4000, 40, 300) // dense: many ties
		full := slices.Clone(offs)
		slices.Sort(full)
		sortByOffset(offs, nil)
		s1, o1, _ := densest(full, 3, nil)
		s2, o2, _ := densest(offs, 3, nil)
		assert.Equal(t, s1, s2)
		assert.Equal(t, o1, o2)
		assert.Equal(t, tileCounts(full, 3), tileCounts(offs, 3))
	}
}

func BenchmarkSortOffsets(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := randomOffsets(rng, 30000, 20000, 4000) // a candidate's hits on a 10 min work
	offs := make([]offPair, len(src))
	b.Run("radix", func(b *testing.B) {
		var tmp []offPair
		for b.Loop() {
			copy(offs, src)
			tmp = sortByOffset(offs, tmp)
		}
	})
	b.Run("pdqsort", func(b *testing.B) {
		for b.Loop() {
			copy(offs, src)
			slices.Sort(offs)
		}
	})
}

func TestSortEntriesByHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 100, 5000} {
		for _, hashes := range []uint32{1 << 31, 50} { // spread, and many ties
			var entries []entry
			for v := range uint16(3) { // made variant by variant, as search does
				for i := range n / 3 {
					entries = append(entries, entry{hash: rng.Uint32N(hashes), variant: v, pair: uint32(i)})
				}
			}
			want := slices.Clone(entries)
			slices.SortStableFunc(want, func(x, y entry) int { return cmp.Compare(x.hash, y.hash) })
			sortEntriesByHash(entries, nil)
			assert.Equal(t, want, entries, "n=%d hashes<%d", n, hashes)
			assert.True(t, slices.IsSortedFunc(entries, func(x, y entry) int {
				return cmp.Or(cmp.Compare(x.hash, y.hash), cmp.Compare(x.variant, y.variant))
			}))
		}
	}
}

func TestFloor(t *testing.T) {
	for _, x := range []float64{0, 0.5, -0.5, 1, -1, 15.999, -15.999, -16, 1e12 + 0.5, -1e12 - 0.5, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64} {
		assert.Equal(t, int64(math.Floor(x)), floor(x), "%g", x)
	}
}

// TestRefLandmarksSorted: a work's landmarks, sorted by refLandmarks'
// radix sort, are in the order CompareLandmarks gives (hash, then time),
// which the alignment's join relies on.
func TestRefLandmarksSorted(t *testing.T) {
	st, _ := randomStore(t, rand.New(rand.NewPCG(9, 10)))
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	w, err := st.Get("w")
	require.NoError(t, err)
	r, err := m.refLandmarks(w.Num)
	require.NoError(t, err)
	peaks, err := st.Peaks(w.Num)
	require.NoError(t, err)
	want := m.fp.Landmarks(peaks)
	slices.SortFunc(want, fingerprint.CompareLandmarks)
	assert.Equal(t, want, r.landmarks)
	again, err := m.refLandmarks(w.Num)
	require.NoError(t, err)
	assert.Same(t, r, again, "cached")
}
