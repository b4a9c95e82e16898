package match

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// TestExtendEdge: a hit whose hashes stopped 2 s before the work's end
// (a codec kept 60 % of its peaks and few of their pairs) is
// extended to the work's last peak, and no further into what follows;
// a hit whose work does end where its hashes stopped is not extended
// into the next recording.
func TestExtendEdge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const off = 100.0 // reference time = query time + off
	var ref []fingerprint.Peak
	for r := float32(0); r < 700; r += 1.5 {
		ref = append(ref, fingerprint.Peak{Time: r, Pitch: float32(rng.Float64() * 60)})
	}
	other := func(peaks []fingerprint.Peak, from, to float32) []fingerprint.Peak {
		for q := from; q < to; q += 0.8 {
			peaks = append(peaks, fingerprint.Peak{Time: q, Pitch: float32(rng.Float64() * 60)})
		}
		return peaks
	}
	query := func(end, thinFrom float32) []fingerprint.Peak {
		var qp []fingerprint.Peak
		for _, r := range ref {
			q := r.Time - off
			if q < 50 || q >= end || q >= thinFrom && rng.Float64() > 0.6 {
				continue
			}
			qp = append(qp, fingerprint.Peak{Time: q, Pitch: r.Pitch})
		}
		qp = other(qp, end, 600) // the next recording
		slices.SortFunc(qp, func(a, b fingerprint.Peak) int { return int(a.Time*16 - b.Time*16) })
		return qp
	}

	h := windowHit{a: 1, b: off, first: 50, last: 340}
	extendEdge(&h, query(400, 200), ref, 600)
	require.InDelta(t, 400, h.last, 16, "extended to the thinned ending's last peak")
	require.Equal(t, 50.0, h.first, "the start was the work's")

	h = windowHit{a: 1, b: off, first: 50, last: 340}
	extendEdge(&h, query(340, 340), ref, 600)
	require.InDelta(t, 340, h.last, 16, "not extended into the next recording")

	// The start, the same way: the hashes began 2 s late.
	h = windowHit{a: 1, b: off, first: 110, last: 340}
	extendEdge(&h, query(400, 1000), ref, 600)
	require.InDelta(t, 50, h.first, 16, "extended back to the work's first peak")
}
