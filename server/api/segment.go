package api

import (
	"math"

	"github.com/cueprint/cueprint/match"
)

// Millis rounds seconds to the millisecond, as the matcher rounds segment
// times.
func Millis(x float64) float64 { return math.Round(x*1000) / 1000 }

// NewSegment is the API form of a matched segment: what `cueprint match
// --json`, POST /v1/match and the stream endpoint all print. The work's
// tenant, owners and shares are included only when attribution says so
// (the daemon shows them to admins, matchers and the work's own tenant;
// the command line, which owns its store, always).
func NewSegment(seg match.Segment, attribution bool) Segment {
	out := Segment{
		ID: seg.Work.ID, Title: seg.Work.Title,
		QueryStartS: seg.QueryStart, QueryEndS: seg.QueryEnd, RefStartS: seg.RefStart, RefEndS: seg.RefEnd,
		DurationS: Millis(seg.Duration()), Score: seg.Score, Confidence: seg.Confidence, Speed: seg.Speed,
		Modality:            seg.Modality,
		PitchShiftSemitones: seg.PitchShift + 0, // no "-0"
		AlsoAtS:             seg.AlsoAt,
		ISRC:                seg.Work.ISRC, ISWC: seg.Work.ISWC, ISAN: seg.Work.ISAN, EIDR: seg.Work.EIDR,
	}
	if attribution {
		out.Tenant = seg.Work.Tenant
		for _, o := range seg.Work.Owners {
			out.Owners = append(out.Owners, Owner{Name: o.Name, Role: o.Role, Share: o.Share})
		}
	}
	return out
}
