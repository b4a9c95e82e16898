package match

import (
	"errors"
	"fmt"
	"math"

	"github.com/cueprint/cueprint/fingerprint"
)

// Params are the matching parameters.
type Params struct {
	// Variants are the alterations a query is searched under, beyond the
	// identity (which is always searched first). The default grid covers
	// speed changes (tempo and pitch together) from 0.90 to 1.10,
	// tempo-only changes of the same size and pitch-only shifts up to
	// ±1.75 semitones; see DefaultVariants.
	Variants []fingerprint.Variant
	// MaxCandidates is how many works per window are aligned after the
	// postings vote. The default value is 12.
	MaxCandidates int
	// MinAligned is the fewest time-aligned hash matches a segment needs.
	// The default value is 10: unrelated queries, searched under every
	// variant, almost never align more than 6.
	MinAligned int
	// MinConfidence is the lowest confidence reported. The default value
	// is 0.9.
	MinConfidence float64
	// OffsetToleranceFrames is the width of the window in which offsets
	// count as aligned. The default value is 3 frames (96 ms).
	OffsetToleranceFrames int
	// WindowSeconds and HopSeconds cut long queries into overlapping
	// windows matched one by one (then merged into segments). The defaults
	// are 20 and 10 s: a window holds enough peaks to match under heavy
	// noise, and every part of a work of 10 s or more lies wholly in one.
	WindowSeconds, HopSeconds float64
	// Live: a stream searches its first window as soon as the window is
	// full (a monitor, which must hear a work soon after it starts),
	// not once a window and a half is in (which lets a query a little
	// longer than a window be searched whole, as one window).
	Live bool
	// FastPathScore: when the identity search yields a segment at least
	// this strong (at speed 1 and spanning most of the window, see
	// Matcher.final), the variant search is skipped. The default value is
	// 40.
	FastPathScore int
	// TargetsPerZone is how many of the strongest peaks of each target
	// sub-zone a query anchor is paired with in the second identity
	// search, run when the first (one target, as references are hashed)
	// found no strong match (fingerprint.QueryHashesK). The default value
	// is 2: a reference's target is its sub-zone's strongest peak, which
	// another song mixed in often pushes to second place in the query;
	// 3 gains no more and lets unrelated queries match. Only the identity
	// gets the extra targets: under every variant they double the latency
	// of hard queries (docs/design/tuning.md). 1 turns the second search
	// off.
	TargetsPerZone int
	// MaxKeyPostings: a key whose postings list holds more postings than
	// this is a stop key, skipped by the vote (and counted in QueryStats):
	// a key shared by that many places in the store tells no work apart,
	// and one such lookup costs as much as a thousand ordinary ones. A
	// window that skipped one aligns its candidates on their stored
	// prints, so their alignment misses nothing. The default value is
	// 20,000, a thousand times the mean list of a key of 28 effective
	// bits on a store of a million works; on the benchmark's stores the
	// longest list holds under a hundredth of it. 0 means no cap.
	MaxKeyPostings int
	// Video are the picture matcher's parameters.
	Video VideoParams
}

// VideoParams are the parameters of matching pictures (video.go, still.go).
// Frame counts are at fingerprint.VideoParams.FPS, 5 a second by default.
type VideoParams struct {
	// Candidates is how many (work, mirror, offset) triples are verified
	// per query, best-voted first. The default value is 24: a query's own
	// work and its near offsets, and the works it could be confused with.
	Candidates int
	// CandidateBatches: when every candidate of a batch yields a segment
	// (copies of one picture registered many times), the next Candidates
	// are verified too, up to this many batches. The default value is 16.
	CandidateBatches int
	// MatchBits is the largest Hamming distance (of 64) at which two frames
	// are taken to show the same picture. The default value is 16.
	MatchBits int
	// GapFrames is the longest run of unmatched frames inside one segment.
	// The default value is 25 (5 s: a fade, a caption over the whole
	// picture).
	GapFrames int
	// MinFrames is the fewest matched frames a segment needs. The default
	// value is 5 (1 s).
	MinFrames int
	// NullRate is the assumed rate at which an unrelated frame comes within
	// MatchBits of some region of the reference near the aligned time. The
	// default value is 0.02: the benchmark footage measures 0.001-0.004,
	// and pictures more alike than those (talk shows, sports) need margin.
	NullRate float64
	// MinVotes is the fewest query frames that must vote for an offset
	// before it is verified. The default value is 2.
	MinVotes int
	// RefineFrames is how far either way the verification searches around
	// a voted offset. The default value is 5 (1 s).
	RefineFrames int
	// EdgeFrames: a match at a run's edge with no other within this many
	// frames is trimmed. The default value is 2.
	EdgeFrames int
	// NewBits is how far a frame's hash must be from the last one counted
	// to count as a new observation in the confidence. The default value
	// is 4.
	NewBits int
	// MinEffective is the fewest distinct pictures a segment must match,
	// both at MatchBits and at StrongBits. The default value is 3: a
	// studio card or a black frame with a logo would otherwise match many
	// works.
	MinEffective int
	// StrongBits: a segment needs MinEffective distinct pictures this close
	// as well. The default value is 12: copies match most frames at 4-10
	// bits even when cropped, scaled and re-encoded at once, while
	// unrelated footage of one style met a few frames at 14-16 bits.
	StrongBits int
	// MinSpanFrames is the shortest segment reported. The default value is
	// 10 (2 s): unrelated videos sharing a fade or a dark opening with a
	// work align for up to 1.2 s.
	MinSpanFrames int
}

// DefaultVideoParams returns the default picture-matching parameters (see
// each field).
func DefaultVideoParams() VideoParams {
	return VideoParams{
		Candidates: 24, CandidateBatches: 16, MatchBits: 16, GapFrames: 25, MinFrames: 5, NullRate: 0.02,
		MinVotes: 2, RefineFrames: 5, EdgeFrames: 2, NewBits: 4, MinEffective: 3, StrongBits: 12, MinSpanFrames: 10,
	}
}

// Validate reports every invalid field.
func (p VideoParams) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("match: Video.%s = %v, want %s", field, v, want))
	}
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{{"Candidates", p.Candidates, 1}, {"CandidateBatches", p.CandidateBatches, 1}, {"MinFrames", p.MinFrames, 1},
		{"MinVotes", p.MinVotes, 1}, {"MinEffective", p.MinEffective, 1}, {"MinSpanFrames", p.MinSpanFrames, 1},
		{"GapFrames", p.GapFrames, 0}, {"RefineFrames", p.RefineFrames, 0}, {"EdgeFrames", p.EdgeFrames, 0}, {"NewBits", p.NewBits, 0}} {
		if f.v < f.min {
			bad(f.name, f.v, fmt.Sprintf(">= %d", f.min))
		}
	}
	if p.MatchBits < 1 || p.MatchBits > 32 {
		bad("MatchBits", p.MatchBits, "1 to 32")
	}
	if p.StrongBits < 0 || p.StrongBits > p.MatchBits {
		bad("StrongBits", p.StrongBits, "0 to MatchBits")
	}
	if !(p.NullRate > 0 && p.NullRate < 1) {
		bad("NullRate", p.NullRate, "between 0 and 1")
	}
	return errors.Join(errs...)
}

// DefaultParams returns the default parameters (see each field).
func DefaultParams() Params {
	return Params{
		Variants:              DefaultVariants(),
		MaxCandidates:         12,
		MinAligned:            10,
		MinConfidence:         0.9,
		OffsetToleranceFrames: 3,
		WindowSeconds:         20,
		HopSeconds:            10,
		FastPathScore:         40,
		TargetsPerZone:        2,
		MaxKeyPostings:        20000,
		Video:                 DefaultVideoParams(),
	}
}

// DefaultVariants returns the default search grid. Time scales step by 3 %:
// a pair's time difference (at most 48 frames) is matched within ±0.8
// frames, so every pair survives a residual of ±1.5 %. Pitch shifts step by
// half a semitone, the hash's own step, of which at least 70 % of anchors
// survive the worst residual.
func DefaultVariants() []fingerprint.Variant {
	var vs []fingerprint.Variant
	seen := map[fingerprint.Variant]bool{{TimeScale: 1}: true}
	add := func(v fingerprint.Variant) {
		v.TimeScale = math.Round(v.TimeScale*1e6) / 1e6
		v.PitchShift = math.Round(v.PitchShift*1e6) / 1e6
		if !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	for _, s := range []float64{0.97, 1.03, 0.94, 1.06, 0.91, 1.09} {
		add(fingerprint.Speed(s))                             // tempo and pitch together
		add(fingerprint.Variant{TimeScale: s, PitchShift: 0}) // tempo only
	}
	for _, st := range []float64{-0.5, 0.5, -1, 1, -1.5, 1.5} {
		add(fingerprint.Variant{TimeScale: 1, PitchShift: st}) // pitch only
	}
	return vs
}

// Validate reports every invalid field.
func (p Params) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("match: %s = %v, want %s", field, v, want))
	}
	for i, v := range p.Variants {
		if v.TimeScale < 0.5 || v.TimeScale > 2 {
			bad(fmt.Sprintf("Variants[%d].TimeScale", i), v.TimeScale, "0.5 to 2")
		}
		if math.Abs(v.PitchShift) > 2 {
			bad(fmt.Sprintf("Variants[%d].PitchShift", i), v.PitchShift, "-2 to 2 semitones")
		}
	}
	if len(p.Variants) > 250 {
		bad("len(Variants)", len(p.Variants), "at most 250")
	}
	if p.MaxCandidates < 1 {
		bad("MaxCandidates", p.MaxCandidates, ">= 1")
	}
	if p.MinAligned < 3 {
		bad("MinAligned", p.MinAligned, ">= 3")
	}
	if p.MinConfidence < 0 || p.MinConfidence > 1 {
		bad("MinConfidence", p.MinConfidence, "0 to 1")
	}
	if p.TargetsPerZone < 1 || p.TargetsPerZone > 4 {
		bad("TargetsPerZone", p.TargetsPerZone, "1 to 4")
	}
	if p.MaxKeyPostings < 0 {
		bad("MaxKeyPostings", p.MaxKeyPostings, ">= 0 (0: no cap)")
	}
	if p.OffsetToleranceFrames < 1 {
		bad("OffsetToleranceFrames", p.OffsetToleranceFrames, ">= 1")
	}
	if p.WindowSeconds < 3 {
		bad("WindowSeconds", p.WindowSeconds, ">= 3")
	}
	if p.HopSeconds <= 0 || p.HopSeconds > p.WindowSeconds {
		bad("HopSeconds", p.HopSeconds, "0 < hop <= WindowSeconds")
	}
	if err := p.Video.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
