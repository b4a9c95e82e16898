package index

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

func TestKeyStatsOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []int64
		want   KeyStats
	}{
		{"none", nil, KeyStats{}},
		{"uniform", []int64{2, 2, 2, 2}, KeyStats{Keys: 4, Postings: 8, Mean: 2, P99: 2, Max: 2, EntropyBits: 2, CollisionBits: 2}},
		{"one key holds half", []int64{4, 2, 1, 1}, KeyStats{Keys: 4, Postings: 8, Mean: 2, P99: 4, Max: 4, EntropyBits: 1.75, CollisionBits: 1.5406}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := keyStatsOf(tc.counts)
			assert.InDelta(t, tc.want.EntropyBits, got.EntropyBits, 1e-4)
			assert.InDelta(t, tc.want.CollisionBits, got.CollisionBits, 1e-4)
			got.EntropyBits, got.CollisionBits = tc.want.EntropyBits, tc.want.CollisionBits
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestStoreKeyStats: every posting a registration writes is counted, in
// its family.
func TestStoreKeyStats(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	peaks := fakePeaks(4, 900)
	w, err := s.Register(ctx, Work{ID: "a"}, peaks, false)
	require.NoError(t, err)
	stored, err := s.forwardPrint(w.Num)
	require.NoError(t, err)
	var pairs, triplets int64
	for _, g := range groupKeys(audioKeys(s.Params(), stored)) {
		if fingerprint.IsTripletKey(g.hash) {
			triplets += int64(len(g.times))
		} else {
			pairs += int64(len(g.times))
		}
	}
	st, err := s.KeyStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, pairs, st.Pairs.Postings)
	assert.Equal(t, triplets, st.Triplets.Postings)
	assert.Positive(t, st.Triplets.Keys)
	assert.Greater(t, st.Triplets.EntropyBits, 8.0)
}
