package match

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// TestSearchGrid: the targeted grid aligns the works it is given under
// every variant, on their stored prints: an excerpt played 5 % fast is
// found at its speed when its work is on the list, not when it is not,
// and an unrelated excerpt is decided against however many works it is
// tried on.
func TestSearchGrid(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	rng := rand.New(rand.NewPCG(21, 22))
	st, ref := randomStore(t, rng)
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	num := func(id string) uint32 {
		w, err := st.Get(id)
		require.NoError(t, err)
		return w.Num
	}
	const startFrame, lenFrames, speed = 600, 160, 1.05 // 5 s of reference
	var q []fingerprint.Peak
	for _, pk := range ref {
		if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
			pk.Time = float32(float64(pk.Time-startFrame) / speed)
			q = append(q, pk)
		}
	}
	others := []uint32{num("x"), num("y"), num("z")}

	hits, err := m.searchGrid(ctx, q, append(others, num("w")))
	require.NoError(t, err)
	require.Len(t, hits, 1)
	assert.Equal(t, num("w"), hits[0].num)
	assert.InDelta(t, speed, hits[0].a, 0.01)
	assert.GreaterOrEqual(t, hits[0].confidence, m.p.MinConfidence)

	hits, err = m.searchGrid(ctx, q, others)
	require.NoError(t, err)
	assert.Empty(t, hits, "a work not on the list is not searched")

	hits, err = m.searchGrid(ctx, randomPeaks(rng, p, 5), append(others, num("w")))
	require.NoError(t, err)
	assert.Empty(t, hits, "unrelated")

	hits, err = m.searchGrid(ctx, q, nil)
	require.NoError(t, err)
	assert.Empty(t, hits)
}

func TestGridWorks(t *testing.T) {
	for _, tc := range []struct {
		name              string
		triplet, identity []uint32
		maxCandidates     int
		want              []uint32
	}{
		{"none", nil, nil, 12, nil},
		{"triplets first, distinct", []uint32{5, 3}, []uint32{3, 9, 5, 1}, 12, []uint32{5, 3, 9, 1}},
		{"bounded", []uint32{1, 2, 3}, []uint32{4, 5}, 2, []uint32{1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, gridWorks(tc.triplet, tc.identity, tc.maxCandidates))
		})
	}
}
