package match

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// randomPeaks returns seconds of synthetic peaks at 40 a second with
// random pitches and strengths, in time order.
func randomPeaks(rng *rand.Rand, p fingerprint.AudioParams, seconds float64) []fingerprint.Peak {
	frames := seconds / p.FrameDuration()
	n := int(40 * seconds)
	out := make([]fingerprint.Peak, n)
	for i := range out {
		out[i] = fingerprint.Peak{
			Time:     float32(rng.Float64() * frames),
			Pitch:    float32(rng.Float64() * 44),
			Strength: float32(0.5 + 4*rng.Float64()),
		}
	}
	slices.SortFunc(out, func(a, b fingerprint.Peak) int { return int(a.Time*16) - int(b.Time*16) })
	return out
}

// TestMatchExactExcerpt queries an exact excerpt of a registered print:
// every pair of the excerpt is a pair of the reference, so nearly every
// hash must align. Pairing picks each sub-zone's strongest peak, so the
// windows a Stream cuts must keep the peaks' strengths (they once did
// not, and a third of the hashes of a clean query were lost).
func TestMatchExactExcerpt(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	ref := randomPeaks(rng, p, 120)
	_, err = st.Register(ctx, index.Work{ID: "w", DurationS: 120}, ref, false)
	require.NoError(t, err)
	for _, other := range []string{"x", "y", "z"} {
		_, err = st.Register(ctx, index.Work{ID: other, DurationS: 120}, randomPeaks(rng, p, 120), false)
		require.NoError(t, err)
	}
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)

	const startFrame, lenFrames = 1000, 625 // 32 s at 20 s, 20 s long
	var q []fingerprint.Peak
	for _, pk := range ref {
		if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
			pk.Time -= startFrame
			q = append(q, pk)
		}
	}
	// The most hashes a window can align: the excerpt's own distinct
	// hashes (a window of 20 s holds the whole excerpt).
	distinct := map[uint32]bool{}
	for _, lm := range p.Landmarks(q) {
		distinct[lm.Hash] = true
	}
	segs, err := m.Match(ctx, &fingerprint.AudioPrint{Peaks: q, Frames: lenFrames})
	require.NoError(t, err)
	require.Len(t, segs, 1)
	s := segs[0]
	require.Equal(t, "w", s.Work.ID)
	require.InDelta(t, startFrame*p.FrameDuration(), s.RefStart-s.QueryStart*s.Speed, 0.05)
	require.InDelta(t, 1, s.Speed, 0.002)
	require.GreaterOrEqual(t, s.Score, len(distinct)*9/10, "aligned %d of %d hashes", s.Score, len(distinct))
}
