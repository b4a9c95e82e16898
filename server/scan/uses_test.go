package scan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

func TestUses(t *testing.T) {
	a := index.Work{ID: "A", DurationS: 200}
	b := index.Work{ID: "B", DurationS: 100}
	seg := func(w index.Work, qs, qe, rs, conf float64) match.Segment {
		return match.Segment{Work: w, QueryStart: qs, QueryEnd: qe, RefStart: rs, RefEnd: rs + qe - qs, Confidence: conf, Speed: 1, Modality: "audio"}
	}
	type want struct {
		work                            string
		qs, qe, rs, re, played, longest float64
		status                          string
	}
	for name, tc := range map[string]struct {
		segs []match.Segment
		want []want
	}{
		"one segment": {[]match.Segment{seg(a, 5, 35, 10, 1)}, []want{{"A", 5, 35, 10, 40, 30, 30, StatusConfirmed}}},
		"gap within merge": {[]match.Segment{seg(a, 50, 80, 45, 1), seg(a, 0, 40, 0, 1)},
			[]want{{"A", 0, 80, 0, 75, 70, 40, StatusConfirmed}}},
		"gap beyond merge": {[]match.Segment{seg(a, 0, 40, 0, 1), seg(a, 56, 80, 56, 1)},
			[]want{{"A", 0, 40, 0, 40, 40, 40, StatusConfirmed}, {"A", 56, 80, 56, 80, 24, 24, StatusConfirmed}}},
		"played again": {[]match.Segment{seg(a, 0, 100, 100, 1), seg(a, 105, 130, 0, 1)},
			[]want{{"A", 0, 100, 100, 200, 100, 100, StatusConfirmed}, {"A", 105, 130, 0, 25, 25, 25, StatusConfirmed}}},
		"overlapping repeat": {[]match.Segment{seg(a, 20, 50, 30, 1), seg(a, 40, 45, 10, 1), seg(a, 50, 57, 60, 1)},
			[]want{{"A", 20, 57, 30, 67, 37, 30, StatusConfirmed}}},
		"two works interleaved": {[]match.Segment{seg(b, 20, 23, 0, 1), seg(a, 0, 60, 0, 0.9)},
			[]want{{"A", 0, 60, 0, 60, 60, 60, "potential"}, {"B", 20, 23, 0, 3, 3, 3, "potential"}}},
	} {
		us := Uses("s", 1, api.ScanItem{ItemID: "x"}, 300, tc.segs, DefaultSettings())
		require.Len(t, us, len(tc.want), name)
		for i, w := range tc.want {
			u := us[i]
			require.Equal(t, w, want{u.WorkID, u.QueryStartS, u.QueryEndS, u.RefStartS, u.RefEndS, u.PlayedS, u.LongestMatchS, u.Status}, name)
		}
	}
	us := Uses("s", 1, api.ScanItem{ItemID: "x"}, 300, []match.Segment{seg(a, 5, 35, 10, 1)}, DefaultSettings())
	again := Uses("s", 1, api.ScanItem{ItemID: "x"}, 300, []match.Segment{seg(a, 5, 35, 10, 1)}, DefaultSettings())
	require.Equal(t, us[0].ID, again[0].ID, "ids are stable")
	require.InDelta(t, 0.1, us[0].ItemShare, 1e-9)
	require.InDelta(t, 0.15, us[0].WorkShare, 1e-9)
}
