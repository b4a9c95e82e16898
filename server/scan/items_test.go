package scan

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server/api"
)

const (
	testTimeout = 10 * time.Second
	pollEvery   = 10 * time.Millisecond
)

func TestParseCSV(t *testing.T) {
	in := "Item_ID,path,plays,territory,period,channel,title\n" +
		"v1,a.mp4,1200,fr,2026-11,c9,My vlog\n" +
		"\n" +
		"v2,b.mp4,,,2026-11-03--2026-11-09,,\n"
	items, extra, err := ParseCSV(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, []string{"channel"}, extra)
	require.Equal(t, []api.ScanItem{
		{ItemID: "v1", Media: "a.mp4", Views: 1200, Territory: "FR", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30", Title: "My vlog", Extra: map[string]string{"channel": "c9"}},
		{ItemID: "v2", Media: "b.mp4", PeriodStart: "2026-11-03", PeriodEnd: "2026-11-09"},
	}, items)
}

func TestParseCSVErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"empty":        {"", "empty list"},
		"no media":     {"item_id,title\nv1,x\n", "must name item_id and media"},
		"twice":        {"item_id,id,media\n", "twice"},
		"columns":      {"item_id,media\nv1\n", "line 2: 1 columns"},
		"views":        {"item_id,media,views\nv1,a,many\n", "line 2: views"},
		"period":       {"item_id,media,period\nv1,a,last week\n", "line 2: period"},
		"territory":    {"item_id,media,territory\nv1,a,France\n", "line 2: territory"},
		"duplicate":    {"item_id,media\nv1,a\nv1,b\n", "line 3: item_id \"v1\" already on line 2"},
		"empty id":     {"item_id,media\n,a\n", "line 2: item_id is empty"},
		"period order": {"item_id,media,period_start,period_end\nv1,a,2026-11-05,2026-11-01\n", "ends"},
	} {
		_, _, err := ParseCSV(strings.NewReader(tc.in))
		require.ErrorIs(t, err, ErrInvalidList, name)
		require.ErrorContains(t, err, tc.want, name)
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string][2]string{
		"2026": {"2026-01-01", "2026-12-31"}, "2024-02": {"2024-02-01", "2024-02-29"},
		"2026-11-05": {"2026-11-05", "2026-11-05"}, "2026-11-01--2026-11-15": {"2026-11-01", "2026-11-15"},
	} {
		s, e, err := ParsePeriod(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]string{s, e}, in)
	}
}

// FuzzParseCSV: a list from a platform is untrusted input; parsing must
// never panic, and what it accepts must validate.
func FuzzParseCSV(f *testing.F) {
	f.Add("item_id,media,views,period\nv1,a.mp4,3,2026-11\n")
	f.Add("id,url\n\"x\ny\",http://h/a\n")
	f.Fuzz(func(t *testing.T, s string) {
		items, _, err := ParseCSV(strings.NewReader(s))
		if err == nil {
			require.NoError(t, ValidateItems(items, 2))
		}
	})
}
