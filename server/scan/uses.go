package scan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// Usage statuses.
const (
	StatusConfirmed = "confirmed"
	StatusPotential = "potential"
)

// DefaultSettings are the settings of a scan that names none: a use must
// play 5 s (the shortest query the matcher answers reliably) at a
// confidence of 0.95 to be confirmed; gaps of up to 15 s (a voice-over, a
// jingle, a skipped passage the matcher did not align) do not split a
// use.
func DefaultSettings() api.ScanSettings {
	return api.ScanSettings{MinDurationS: 5, MinConfidence: 0.95, MergeGapS: 15}
}

// ValidateSettings says what is wrong with s.
func ValidateSettings(s api.ScanSettings) error {
	switch {
	case s.MinDurationS < 0 || s.MinDurationS > 3600:
		return fmt.Errorf("min_duration_s %g: want 0 to 3600", s.MinDurationS)
	case s.MinConfidence < 0 || s.MinConfidence > 1:
		return fmt.Errorf("min_confidence %g: want 0 to 1", s.MinConfidence)
	case s.MergeGapS < 0 || s.MergeGapS > 600:
		return fmt.Errorf("merge_gap_s %g: want 0 to 600", s.MergeGapS)
	}
	return nil
}

// Uses turns the segments found in one item into its usage lines: the
// segments of one work are taken in query order, and a segment joins the
// use before it when it starts before that use ends (the matcher aligned a
// stretch again at a repeat of the passage), or at most MergeGapS after
// it without going back in the work by more than MergeGapS (which would
// be the work played again, not continued). A use's played duration is the
// union of its segments in the item; its reference span runs from where
// its first segment starts in the work to where its last one ends; its
// speed, pitch and modality those of its longest
// segment, and its confidence the highest. Lines are ordered by start in
// the item, then work id.
func Uses(scanID string, line int, it api.ScanItem, itemDurS float64, segs []match.Segment, set api.ScanSettings) []api.Usage {
	type workKey struct{ tenant, id string }
	byWork := map[workKey][]match.Segment{}
	for _, s := range segs {
		k := workKey{s.Work.Tenant, s.Work.ID}
		byWork[k] = append(byWork[k], s)
	}
	var out []api.Usage
	for _, ss := range byWork {
		slices.SortFunc(ss, func(a, b match.Segment) int {
			return cmp.Or(cmp.Compare(a.QueryStart, b.QueryStart), cmp.Compare(a.QueryEnd, b.QueryEnd))
		})
		start := 0
		prevEnd, prevRef := ss[0].QueryEnd, ss[0].RefEnd // the open use's furthest reach
		for i := 1; i <= len(ss); i++ {
			if i < len(ss) {
				switch {
				case ss[i].QueryStart < prevEnd,
					// Heard during the use: the same play, aligned again at
					// a repeat of the passage.
					ss[i].QueryStart-prevEnd <= set.MergeGapS && ss[i].RefStart >= prevRef-set.MergeGapS:
					prevEnd, prevRef = max(prevEnd, ss[i].QueryEnd), max(prevRef, ss[i].RefEnd)
					continue
				}
			}
			out = append(out, use(scanID, line, it, itemDurS, ss[start:i], set))
			if i < len(ss) {
				prevEnd, prevRef = ss[i].QueryEnd, ss[i].RefEnd
			}
			start = i
		}
	}
	slices.SortFunc(out, func(a, b api.Usage) int {
		return cmp.Or(cmp.Compare(a.QueryStartS, b.QueryStartS), cmp.Compare(a.WorkID, b.WorkID), cmp.Compare(a.Tenant, b.Tenant))
	})
	return out
}

// use builds one usage line from the segments of one use, in query order.
func use(scanID string, line int, it api.ScanItem, itemDurS float64, ss []match.Segment, set api.ScanSettings) api.Usage {
	w := ss[0].Work
	longest := ss[0]
	q := make([][2]float64, len(ss))
	r := make([][2]float64, len(ss))
	u := api.Usage{
		ScanID: scanID, Line: line, ItemID: it.ItemID, Media: it.Media, Uploader: it.Uploader, ItemTitle: it.Title,
		Views: it.Views, Territory: it.Territory, PeriodStart: it.PeriodStart, PeriodEnd: it.PeriodEnd, Extra: it.Extra,
		ItemDurationS: api.Millis(itemDurS),
		QueryStartS:   ss[0].QueryStart, QueryEndS: ss[0].QueryEnd, RefStartS: ss[0].RefStart, RefEndS: ss[0].RefEnd,
		Segments: len(ss),
		WorkID:   w.ID, WorkTitle: w.Title, WorkDurationS: api.Millis(w.DurationS),
		ISRC: w.ISRC, ISWC: w.ISWC, ISAN: w.ISAN, EIDR: w.EIDR, Tenant: w.Tenant,
	}
	for i, s := range ss {
		q[i], r[i] = [2]float64{s.QueryStart, s.QueryEnd}, [2]float64{s.RefStart, s.RefEnd}
		if s.QueryEnd > u.QueryEndS {
			u.QueryEndS, u.RefEndS = s.QueryEnd, s.RefEnd
		}
		u.Confidence = max(u.Confidence, s.Confidence)
		if s.Duration() > longest.Duration() {
			longest = s
		}
	}
	u.PlayedS = api.Millis(Covered(q))
	u.LongestMatchS = api.Millis(longest.Duration())
	u.Speed, u.PitchSemitones, u.Modality = longest.Speed, longest.PitchShift+0, longest.Modality
	if itemDurS > 0 {
		u.ItemShare = ratio(u.PlayedS, itemDurS)
	}
	if w.DurationS > 0 {
		u.WorkShare = ratio(Covered(r), w.DurationS)
	}
	for _, o := range w.Owners {
		u.Owners = append(u.Owners, api.Owner{Name: o.Name, Role: o.Role, Share: o.Share})
	}
	u.Status = StatusConfirmed
	switch {
	case u.PlayedS < set.MinDurationS:
		u.Status, u.StatusReason = StatusPotential, "short"
	case u.Confidence < set.MinConfidence:
		u.Status, u.StatusReason = StatusPotential, "low_confidence"
	}
	u.ID = usageID(scanID, it.ItemID, w.Tenant, w.ID, u.QueryStartS)
	return u
}

// usageID is a use's stable id: the same scan of the same item gives the
// same use the same id, whichever run found it.
func usageID(scanID, itemID, tenant, workID string, queryStartS float64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d", scanID, itemID, tenant, workID, int64(math.Round(queryStartS*1000)))
	return "u" + hex.EncodeToString(h.Sum(nil)[:10])
}

// Covered is the total length the intervals ([start, end] pairs) cover,
// overlaps counted once.
func Covered(iv [][2]float64) float64 {
	iv = slices.Clone(iv)
	slices.SortFunc(iv, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	total, curS, curE := 0.0, math.Inf(-1), math.Inf(-1)
	for _, x := range iv {
		if x[0] > curE {
			if curE > curS {
				total += curE - curS
			}
			curS, curE = x[0], x[1]
			continue
		}
		curE = max(curE, x[1])
	}
	if curE > curS {
		total += curE - curS
	}
	return total
}

// ratio is a/b rounded to four places, at most 1.
func ratio(a, b float64) float64 { return math.Round(min(a/b, 1)*1e4) / 1e4 }
