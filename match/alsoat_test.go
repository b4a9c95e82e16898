package match

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// TestMatchReportsRepeats: a work that plays one passage three times (a
// chorus) matches a query of that passage at one of them, and lists the
// two others in AlsoAt; a work without repeats lists none.
func TestMatchReportsRepeats(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	rng := rand.New(rand.NewPCG(7, 8))
	fd := p.FrameDuration()
	shift := func(peaks []fingerprint.Peak, seconds float64) []fingerprint.Peak {
		out := slices.Clone(peaks)
		for i := range out {
			out[i].Time += float32(seconds / fd)
		}
		return out
	}
	chorus := randomPeaks(rng, p, 20)
	var ref []fingerprint.Peak
	for i, at := range []float64{0, 40, 80} {
		ref = append(ref, shift(chorus, at)...)
		if i < 2 {
			ref = append(ref, shift(randomPeaks(rng, p, 20), at+20)...)
		}
	}
	slices.SortFunc(ref, func(a, b fingerprint.Peak) int { return int(a.Time*16) - int(b.Time*16) })
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Register(ctx, index.Work{ID: "song", DurationS: 100}, ref, false)
	require.NoError(t, err)
	plain := randomPeaks(rng, p, 100)
	_, err = st.Register(ctx, index.Work{ID: "plain", DurationS: 100}, plain, false)
	require.NoError(t, err)
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)

	excerpt := func(peaks []fingerprint.Peak, from, to float64) *fingerprint.AudioPrint {
		var q []fingerprint.Peak
		for _, pk := range peaks {
			if t := float64(pk.Time) * fd; t >= from && t < to {
				pk.Time -= float32(from / fd)
				q = append(q, pk)
			}
		}
		return &fingerprint.AudioPrint{Peaks: q, Frames: int((to - from) / fd)}
	}
	segs, err := m.Match(ctx, excerpt(chorus, 5, 15))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	s := segs[0]
	require.Equal(t, "song", s.Work.ID)
	all := append([]float64{s.RefStart - s.QueryStart}, s.AlsoAt...)
	slices.Sort(all)
	require.Len(t, all, 3, "best %.2f, also at %v", s.RefStart, s.AlsoAt)
	for i, want := range []float64{5, 45, 85} {
		assert.InDelta(t, want, all[i], 0.1)
	}

	segs, err = m.Match(ctx, excerpt(plain, 30, 40))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	assert.Equal(t, "plain", segs[0].Work.ID)
	assert.Empty(t, segs[0].AlsoAt)
}
