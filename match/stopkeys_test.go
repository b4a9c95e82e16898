package match

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// TestStopKeys: a jingle registered as 40 works (copies under other
// IDs) makes its keys' lists long. With MaxKeyPostings below them, a query holding the jingle and a
// passage of another work skips the jingle's keys (counted in
// QueryStats), answers the other work with the same score as without the
// cap (its alignment reads the stored print), and reports no jingle work.
func TestStopKeys(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	rng := rand.New(rand.NewPCG(11, 12))
	fd := p.FrameDuration()
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	defer st.Close()
	jingle := randomPeaks(rng, p, 10)
	for i := range 40 {
		_, err := st.Register(ctx, index.Work{ID: fmt.Sprintf("ad-%02d", i), DurationS: 10}, jingle, false)
		require.NoError(t, err)
	}
	target := randomPeaks(rng, p, 60)
	_, err = st.Register(ctx, index.Work{ID: "target", DurationS: 60}, target, false)
	require.NoError(t, err)

	var q []fingerprint.Peak
	for _, pk := range target {
		if t := float64(pk.Time) * fd; t >= 20 && t < 30 {
			pk.Time -= float32(20 / fd)
			q = append(q, pk)
		}
	}
	q = append(q, jingle...)
	slices.SortFunc(q, func(a, b fingerprint.Peak) int { return int(a.Time*16) - int(b.Time*16) })
	print := &fingerprint.AudioPrint{Peaks: q, Frames: int(10 / fd)}

	run := func(maxKey int) ([]Segment, *QueryStats) {
		params := DefaultParams()
		params.MaxKeyPostings = maxKey
		m, err := New(st, params, nil)
		require.NoError(t, err)
		var qs QueryStats
		segs, err := m.Match(WithStats(ctx, &qs), print)
		require.NoError(t, err)
		return segs, &qs
	}
	find := func(segs []Segment, id string) *Segment {
		for i := range segs {
			if segs[i].Work.ID == id {
				return &segs[i]
			}
		}
		return nil
	}

	open, openStats := run(0)
	assert.Zero(t, openStats.KeysDropped.Load())
	require.NotNil(t, find(open, "target"))
	require.NotNil(t, find(open, "ad-00"), "without a cap the jingle's works match")

	capped, cappedStats := run(20)
	assert.Positive(t, cappedStats.KeysDropped.Load())
	assert.GreaterOrEqual(t, cappedStats.PostingsDropped.Load(), 21*cappedStats.KeysDropped.Load())
	assert.Less(t, cappedStats.PostingsRead.Load(), openStats.PostingsRead.Load())
	got := find(capped, "target")
	require.NotNil(t, got)
	// The stored print's times are exact where the postings' are whole
	// frames, so the scores differ by a few hashes.
	assert.InEpsilon(t, find(open, "target").Score, got.Score, 0.03)
	for _, s := range capped {
		assert.Equal(t, "target", s.Work.ID, "a jingle work answered through its stop keys")
	}
}
