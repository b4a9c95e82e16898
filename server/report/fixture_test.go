package report

import (
	"time"

	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

// fixture is a two-scan input built the way the scanner builds lines:
// works with owners, items with several uses, a failed item, a
// potential use, extra columns.
func fixture() Input {
	song := index.Work{ID: "W1", Title: "Night\tDrive", ISRC: "USRC17607839", ISWC: "T0345246801", DurationS: 212.5,
		Owners: []index.Owner{{Name: "Ana Writer", Role: "composer", Share: 50}, {Name: "Pub|Co", Role: "publisher", Share: 50}}}
	jingle := index.Work{ID: "W2", Title: "Jingle", DurationS: 30, Owners: []index.Owner{{Name: "Label A", Role: "label", Share: 100}}}
	seg := func(w index.Work, qs, qe, rs float64, conf float64) match.Segment {
		return match.Segment{Work: w, QueryStart: qs, QueryEnd: qe, RefStart: rs, RefEnd: rs + qe - qs, Confidence: conf, Speed: 1, Modality: "audio", Score: 40}
	}
	set := scan.DefaultSettings()
	items := []api.ScanItem{
		{ItemID: "v1", Media: "a.mp4", Title: "My vlog", Uploader: "u1", Views: 1200, Territory: "FR", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30", Extra: map[string]string{"channel": "c9"}},
		{ItemID: "v2", Media: "b.mp4", Views: 300, Territory: "DE", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30"},
		{ItemID: "v3", Media: "missing.mp4"},
	}
	uses1 := scan.Uses("scan-0001", 1, items[0], 300, []match.Segment{
		seg(song, 10, 40, 0, 1), seg(song, 45, 90, 35, 0.99), // one use, a 5 s gap
		seg(jingle, 120, 123, 0, 0.97), // potential: short
		seg(song, 200, 260, 0, 1),      // played again from the start
	}, set)
	uses2 := scan.Uses("scan-0001", 2, items[1], 60, []match.Segment{seg(song, 0, 60, 100, 0.98)}, set)
	r := scan.NewResults(
		api.Scan{ID: "scan-0001", Kind: scan.KindCatalogue, State: scan.StateDone, Settings: set, Total: 3, Done: 3, Failed: 1, Usages: 4, MediaHours: 0.1, CreatedAt: time.Unix(0, 0)},
		[]string{"channel"},
		[]scan.ItemResult{
			{Line: 1, Item: items[0], Done: true, DurationS: 300, Usages: uses1},
			{Line: 2, Item: items[1], Done: true, DurationS: 60, Usages: uses2},
			{Line: 3, Item: items[2], Done: true, Err: &api.ScanError{Line: 3, ItemID: "v3", Code: "media_not_found", Error: "no such file"}},
		})
	return Input{Scans: []scan.Results{r}}
}

func dsrOptions() DSROptions {
	o := DefaultDSROptions()
	o.SenderPartyID, o.SenderName = "PADPIDA2026120501"+string(mod3736("PADPIDA2026120501")), "Example Society"
	o.RecipientPartyID, o.RecipientName = "PADPIDA2014120301"+string(mod3736("PADPIDA2014120301")), "Example Platform"
	o.ServiceDescription = "Example Video"
	o.Created = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	return o
}
