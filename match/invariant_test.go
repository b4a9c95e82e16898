package match

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// TestMatchChangedSpeedAndPitch: excerpts of a registered print played
// faster or slower (with their pitch, or without), or transposed, by more
// than the variant grid covers, are found by the invariant search, with
// the speed and the pitch shift recovered from the matched landmarks. An
// unrelated print is not.
func TestMatchChangedSpeedAndPitch(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	rng := rand.New(rand.NewPCG(5, 6))
	st, ref := randomStore(t, rng)
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	const startFrame, lenFrames = 900, 470 // from 28.8 s, 15 s of reference
	for _, tc := range []struct {
		name         string
		speed, pitch float64 // query time = reference time / speed; pitch added, semitones
	}{
		{"speed 1.15", 1.15, 12 * math.Log2(1.15)},
		{"speed 0.85", 0.85, 12 * math.Log2(0.85)},
		{"tempo 1.2", 1.2, 0},
		{"pitch +3", 1, 3},
		{"pitch -3", 1, -3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q []fingerprint.Peak
			for _, pk := range ref {
				if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
					q = append(q, fingerprint.Peak{Time: float32(float64(pk.Time-startFrame) / tc.speed),
						Pitch: pk.Pitch + float32(tc.pitch), Strength: pk.Strength})
				}
			}
			segs, err := m.Match(ctx, &fingerprint.AudioPrint{Peaks: q, Frames: int(lenFrames / tc.speed)})
			require.NoError(t, err)
			require.Len(t, segs, 1)
			s := segs[0]
			assert.Equal(t, "w", s.Work.ID)
			assert.InDelta(t, tc.speed, s.Speed, 0.01)
			assert.InDelta(t, tc.pitch, s.PitchShift, 0.15)
			assert.InDelta(t, startFrame*p.FrameDuration(), s.RefStart-s.QueryStart*s.Speed, 0.1)
		})
	}
	t.Run("unrelated", func(t *testing.T) {
		q := randomPeaks(rng, p, 15)
		segs, err := m.Match(ctx, &fingerprint.AudioPrint{Peaks: q, Frames: int(15 / p.FrameDuration())})
		require.NoError(t, err)
		assert.Empty(t, segs)
	})
}

// TestBestTripletBlocks checks the blocks' sums against counting each
// block's nine cells one by one, on random votes dense enough for the
// blocks of one work to overlap.
func TestBestTripletBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	var votes []tripletVote
	for range 5000 {
		votes = append(votes, packTripletVote(uint32(rng.IntN(40)), rng.IntN(7)-3, rng.IntN(30)-15))
	}
	count := map[tripletVote]int{}
	for _, v := range votes {
		count[v]++
	}
	want := map[uint32]int{}
	for v := range count {
		w, s, o := unpackTripletVote(v)
		sum := 0
		for ds := -1; ds <= 1; ds++ {
			for do := -1; do <= 1; do++ {
				sum += count[packTripletVote(w, s+ds, o+do)]
			}
		}
		want[w] = max(want[w], sum)
	}
	got := bestTripletBlocks(slices.Clone(votes), 1000, 1)
	require.Len(t, got, len(want))
	for i, c := range got {
		assert.Equal(t, want[c.num], c.votes, "work %d", c.num)
		if i > 0 {
			assert.GreaterOrEqual(t, got[i-1].votes, c.votes, "best first")
		}
		// The block's centre holds the sum it reports.
		sum := 0
		for ds := -1; ds <= 1; ds++ {
			for do := -1; do <= 1; do++ {
				sum += count[packTripletVote(c.num, c.speedBin+ds, c.offBin+do)]
			}
		}
		assert.Equal(t, c.votes, sum)
	}
	assert.Len(t, bestTripletBlocks(slices.Clone(votes), 5, 1), 5)
	assert.Empty(t, bestTripletBlocks(nil, 5, 1))
}
