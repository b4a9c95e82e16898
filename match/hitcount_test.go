package match

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHitCounts checks the table against a map through growth, reuse
// and saturation.
func TestHitCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h hitCounts
	for round, n := range []int{10, 50_000, 300} {
		h.reset()
		want := map[uint64]int{}
		for range n {
			k := pairKey(uint32(rng.IntN(n)), uint16(rng.IntN(20)))
			c := 1 + rng.IntN(3)
			h.add(k, c)
			want[k] += c
		}
		require.Equal(t, len(want), h.len(), "round %d", round)
		got := map[uint64]int{}
		h.each(func(k uint64, v *uint16) { got[k] = int(*v) })
		assert.Equal(t, want, got, "round %d", round)
		for k, c := range want {
			assert.Equal(t, uint16(c), h.get(k))
		}
		assert.Zero(t, h.get(pairKey(uint32(n+1), 0)), "a key never added")
	}
	h.reset()
	h.add(pairKey(7, 1), math.MaxUint16-1)
	h.add(pairKey(7, 1), 5)
	assert.Equal(t, uint16(math.MaxUint16), h.get(pairKey(7, 1)), "saturates")
	w, v := splitPairKey(pairKey(1<<31+5, 17))
	assert.Equal(t, uint32(1<<31+5), w)
	assert.Equal(t, uint16(17), v)
}
