package match

import (
	"context"
	"fmt"
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

// randomStore returns a store of four works of 120 s of random peaks, and
// the peaks of the one registered as "w".
func randomStore(t *testing.T, rng *rand.Rand) (*index.Store, []fingerprint.Peak) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	ref := randomPeaks(rng, p, 120)
	_, err = st.Register(ctx, index.Work{ID: "w", DurationS: 120}, ref, false)
	require.NoError(t, err)
	for _, other := range []string{"x", "y", "z"} {
		_, err = st.Register(ctx, index.Work{ID: other, DurationS: 120}, randomPeaks(rng, p, 120), false)
		require.NoError(t, err)
	}
	return st, ref
}

// TestMatchExactExcerpt queries an exact excerpt of a registered print:
// every pair of the excerpt is a pair of the reference, so nearly every
// hash must align. Pairing picks each sub-zone's strongest peak, so the
// windows a Stream cuts must keep the peaks' strengths (they once did
// not, and a third of the hashes of a clean query were lost).
func TestMatchExactExcerpt(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	st, ref := randomStore(t, rand.New(rand.NewPCG(1, 2)))
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

// TestMatchPostingsOverflow: a search whose postings are too many to keep
// reads them from the store again for the vote and the stored prints for
// alignment; it must find what the search that kept them finds (it did
// before the votes were written straight into their pairs' slices, with
// the same scores as now).
func TestMatchPostingsOverflow(t *testing.T) {
	ctx := context.Background()
	st, ref := randomStore(t, rand.New(rand.NewPCG(3, 4)))
	// A 10 s excerpt played 4 % fast: found by the variant search.
	const startFrame, lenFrames = 800, 312
	var q []fingerprint.Peak
	for _, pk := range ref {
		if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
			pk.Time = (pk.Time - startFrame) / 1.04
			q = append(q, pk)
		}
	}
	qp := &fingerprint.AudioPrint{Peaks: q, Frames: int(lenFrames / 1.04)}
	kept, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	want, err := kept.Match(ctx, qp)
	require.NoError(t, err)
	require.Len(t, want, 1)
	require.Equal(t, "w", want[0].Work.ID)
	require.InDelta(t, 1.04, want[0].Speed, 0.01)

	reread, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	reread.keptWords = 16
	got, err := reread.Match(ctx, qp)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, want[0].Work.ID, got[0].Work.ID)
	// Alignment then joins the stored prints' landmarks, whose anchor
	// times are not truncated to whole frames as the postings' are: a
	// few hashes more or less fall within the offset tolerance.
	require.InEpsilon(t, want[0].Score, got[0].Score, 0.05)
	require.InDelta(t, want[0].RefStart, got[0].RefStart, 0.02)
	require.InDelta(t, want[0].Speed, got[0].Speed, 0.001)
}

// TestMatchNotCrowdedOut: copies of an excerpt registered again and again
// (by another tenant, say) fill more than MaxCandidates places at the
// top of the vote; the work they were copied from, ranked below them,
// must still be found, as must every copy.
func TestMatchNotCrowdedOut(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	rng := rand.New(rand.NewPCG(5, 6))
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	ref := randomPeaks(rng, p, 120)
	const startFrame, lenFrames = 1000, 625
	var excerpt []fingerprint.Peak
	for _, pk := range ref {
		if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
			pk.Time -= startFrame
			excerpt = append(excerpt, pk)
		}
	}
	params := DefaultParams()
	copies := 2*params.MaxCandidates + 3
	for i := range copies {
		_, err := st.Register(ctx, index.Work{ID: fmt.Sprintf("copy-%02d", i), Tenant: "a", DurationS: 20}, excerpt, false)
		require.NoError(t, err)
	}
	// Registered last: its number is the highest, so it ranks below
	// every copy at an equal vote.
	_, err = st.Register(ctx, index.Work{ID: "w", Tenant: "b", DurationS: 120}, ref, false)
	require.NoError(t, err)
	m, err := New(st, params, nil)
	require.NoError(t, err)
	segs, err := m.Match(ctx, &fingerprint.AudioPrint{Peaks: excerpt, Frames: lenFrames})
	require.NoError(t, err)
	requireEveryCopy(t, segs, copies)
}

// requireEveryCopy checks that segs hold the original, work "w" of tenant
// "b", and each of the copies (tenant "a").
func requireEveryCopy(t *testing.T, segs []Segment, copies int) {
	t.Helper()
	found := map[string]bool{}
	for _, s := range segs {
		found[s.Work.Tenant+"/"+s.Work.ID] = true
	}
	require.True(t, found["b/w"], "the original is found among %d segments", len(segs))
	require.Len(t, found, copies+1, "every copy is found too")
}
