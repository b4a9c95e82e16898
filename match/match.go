// Package match finds registered works in a query print: candidate works
// from the index's postings, then temporal alignment by offset voting,
// then segments with a calibrated confidence.
//
// # Method
//
// The query is cut into windows (Params.WindowSeconds, overlapping by
// half), each searched on its own and the results merged into segments
// (stream.go, segment.go). A window is searched first under the identity;
// if a work aligns Params.FastPathScore hashes or more at a time scale
// inside the refinement range and spans most of the window, the search
// stops there (final). Otherwise the identity is searched again with each
// anchor paired with the Params.TargetsPerZone strongest peaks of each
// target sub-zone (a mixed-in song may have displaced the reference's
// target). Then the invariant search (invariant.go) looks the window's
// triplet keys up, which a change of speed, tempo or pitch leaves
// unchanged, recovers each candidate's change from its matched triplets
// and aligns it under that change, however far it lies from the identity
// (within fingerprint.TripletMaxSpeed and maxPitchShift). Only when that
// finds nothing are the works the votes ranked aligned on their stored
// prints under every variant of Params.Variants (speed, tempo-only,
// pitch-only hypotheses near the identity; grid.go), whose pairs survive
// where too few triplets do (short queries transposed or time-stretched
// by a few percent): the index is looked up under the identity and the
// triplets only, so an unrelated query costs what a related one does.
// One search (search.go) is six steps, each a function in the file named
// after it:
//
//  1. Hash the query (hash.go, hashQuery): every pair of the window's peaks
//     hashed under each variant (fingerprint.QueryHashesK, with
//     neighbouring levels near a quantisation boundary), sorted by hash.
//  2. Vote (vote.go, vote): the hashes looked up in the postings, which
//     carry each work's anchor times; every hit votes for (work, variant,
//     offset bin of voteBinFrames). In two passes, so that memory stays
//     bounded on any store: hits are counted per (work, variant) in a
//     hash table of the pairs hit (hitcount.go), then only the pairs with
//     the most hits (at most votePairs) collect offset bins, each written
//     straight into its pair's slice of one array and counted in a dense
//     histogram per pair: time and memory follow the hits, not the
//     works stored. A key whose list is longer than Params.MaxKeyPostings
//     is a stop key: skipped, counted (QueryStats), and the window's
//     candidates are then aligned on their stored prints.
//  3. Rank (rank.go, rank): pairs by their best two adjacent bins (Wang
//     2003's offset histogram), grouped by work, each work with the
//     variants that scored at least half its best.
//  4. Collect reference landmarks (collect.go, collectLandmarks): the
//     candidates' landmarks that share a hash with the query are exactly
//     the postings the vote read; the stored print is decoded and hashed
//     again only when the vote read more postings than it keeps.
//  5. Align (align.go, alignCandidates and align): the query's hashes
//     joined with each candidate's landmarks; each match gives an offset
//     (reference time minus query time), and the score is the largest
//     number of distinct hash values whose offsets fall in a window of
//     OffsetToleranceFrames frames. The time scale is refined in steps of
//     slopeStep around the variant's, which also measures the query's
//     speed. Candidates are aligned Params.MaxCandidates at a time, the
//     next batch only while every candidate of the last one aligns, so
//     that copies of one recording cannot crowd out another work.
//  6. Decide (decide.go, decide): the background is the mean score of
//     the same work's unrelated offsets (windows ranked backgroundFrom to
//     backgroundTo: the best few may be true repeats of a looped passage).
//     The statistic z = (score - background) / sqrt(background + 1) is
//     mapped to a confidence by a logistic calibrated on unrelated music,
//     speech and noise (confidenceOf), whose centre rises with the number
//     of works the window hit. A second test weighs the score against the
//     best other work the window aligned (the crowd test, see crowdZ): a
//     looped work's own background is high, but a true match of it stands
//     far above every other work. Passing both tests at a lower bar is
//     worth passing the own test alone at the full one. An alignment found
//     under a variant needs more than one found under the identity
//     (confidenceVariantZ). A segment needs MinAligned hashes and
//     MinConfidence. When the variant search runs, a work keeps the more
//     confident of its identity and variant alignments (betterPerWork).
//
// Design note: a Poisson null model of uniformly scattered hits was tried
// first and was wrong by orders of magnitude: music is periodic, and two
// unrelated pieces in one key and tempo align 20-30 hashes at many offsets.
// Dejavu-style matching without a null model answers every query; Olaf and
// audfprint use fixed hit thresholds. Measuring the score against the same
// work's own sidelobes is what separates a true match from a similar
// style: a true offset stands out, a similarity is as good everywhere.
package match

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// Segment is one registered work found in a query.
type Segment struct {
	// Work is the registered work.
	Work index.Work
	// QueryStart and QueryEnd delimit the segment in the query, in seconds.
	QueryStart, QueryEnd float64
	// RefStart and RefEnd are the corresponding times in the work.
	RefStart, RefEnd float64
	// Score is the number of time-aligned hash matches.
	Score int
	// Confidence is 1 minus the corrected probability that an unrelated
	// work aligns as well, in [0, 1].
	Confidence float64
	// Speed is the query's playback speed relative to the work: reference
	// seconds per query second (1.02 when the query plays 2 % fast).
	Speed float64
	// PitchShift is the query's pitch relative to the work, in semitones.
	PitchShift float64
	// Background is how many hashes an unrelated offset of the same work
	// aligns (the sidelobe level the Score stands out from).
	Background float64
	// Modality says what matched: ModalityAudio, ModalityVideo or
	// ModalityAudiovisual (both, at consistent offsets; see Fuse).
	Modality string
	// AlsoAt lists, in ascending order, the other reference start times
	// (seconds) at which the segment's passage aligns nearly as well
	// (alsoAtFraction of Score): repeats of it in the work, a chorus or a
	// loop, where the query may as well have come from. Empty for most
	// segments.
	AlsoAt []float64
}

// Duration is the segment's length in the query, in seconds.
func (s Segment) Duration() float64 { return s.QueryEnd - s.QueryStart }

// Matcher matches query prints against a store. It is safe for
// concurrent use.
type Matcher struct {
	store *index.Store
	p     Params
	fp    fingerprint.AudioParams
	log   *slog.Logger
	cache *refCache
	pool  sync.Pool // of *scratch
	// keptWords bounds the postings a search keeps (defaultKeptWords;
	// tests lower it to take the path that reads them twice).
	keptWords int
}

// New returns a matcher over store.
func New(store *index.Store, p Params, logger *slog.Logger) (*Matcher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Matcher{store: store, p: p, fp: store.Params(), log: logger, cache: newRefCache(refCacheLandmarks),
		keptWords: defaultKeptWords}, nil
}

// Store returns the store the matcher reads.
func (m *Matcher) Store() *index.Store { return m.store }

// Params returns the matcher's parameters.
func (m *Matcher) Params() Params { return m.p }

// windowHit is one work found in one window, with its alignment
// refFrame = A*queryFrame + B in absolute query frames.
type windowHit struct {
	num          uint32
	a, b         float64
	pitch        float64
	first, last  float64 // query frames where the work starts and ends (alignedExtent)
	run          float64 // frames spanned by the largest run of aligned anchors alone
	score        int
	confidence   float64
	pairsInRange int
	variant      int
	slope        float64
	background   float64
	// alsoAt are the intercepts (b) of the other offsets that align
	// nearly as well, at the same slope.
	alsoAt []float64
}

// Match returns the registered works found in the query, in query order.
// A query with no match returns an empty slice and no error.
func (m *Matcher) Match(ctx context.Context, q *fingerprint.AudioPrint) ([]Segment, error) {
	st := m.NewStream()
	var out []Segment
	segs, err := st.Add(ctx, q.Peaks, float32(q.Frames))
	if err != nil {
		return nil, err
	}
	out = append(out, segs...)
	if segs, err = st.Close(ctx, q.Frames); err != nil {
		return nil, err
	}
	out = append(out, segs...)
	sortSegments(out)
	return out, nil
}

// matchWindow searches one window (searchWindow), then moves each work's
// edges out over the stretches where its peaks are still in the query
// (extendEdges).
func (m *Matcher) matchWindow(ctx context.Context, peaks []fingerprint.Peak, frames int) ([]windowHit, error) {
	hits, err := m.searchWindow(ctx, peaks, frames)
	if err != nil {
		return nil, err
	}
	return m.extendEdges(peaks, frames, hits), nil
}

// searchWindow searches one window: the identity first, with one target
// per sub-zone, then (unless that found a strong match) the identity with
// Params.TargetsPerZone targets, then the invariant search, then the
// targeted grid of the works the votes ranked.
func (m *Matcher) searchWindow(ctx context.Context, peaks []fingerprint.Peak, frames int) ([]windowHit, error) {
	identity := []fingerprint.Variant{{TimeScale: 1}}
	var voted, tripletVoted []uint32
	hits, err := m.search(ctx, peaks, frames, identity, 1, &voted)
	if err != nil {
		return nil, err
	}
	if m.final(hits, frames) {
		return hits, nil
	}
	if m.p.TargetsPerZone > 1 {
		more, err := m.search(ctx, peaks, frames, identity, m.p.TargetsPerZone, &voted)
		if err != nil {
			return nil, err
		}
		hits = betterPerWork(hits, more)
		if m.final(hits, frames) {
			return hits, nil
		}
	}
	changed, err := m.searchInvariant(ctx, peaks, &tripletVoted)
	if err != nil {
		return nil, err
	}
	// The grid is skipped when the triplets found a work the identity
	// had not, or aligned one better: a time stretch that keeps short
	// sounds as they were (atempo) lets the identity align a piece of
	// the query at speed 1, which a weaker recovered change must not
	// leave standing.
	improved := slices.ContainsFunc(changed, func(c windowHit) bool {
		i := slices.IndexFunc(hits, func(h windowHit) bool { return h.num == c.num })
		return i < 0 || c.score > hits[i].score
	})
	hits = betterPerWork(hits, changed)
	if improved || len(m.p.Variants) == 0 {
		return hits, nil
	}
	grid, err := m.searchGrid(ctx, peaks, gridWorks(tripletVoted, voted, m.p.MaxCandidates))
	if err != nil {
		return nil, err
	}
	return betterPerWork(hits, grid), nil
}

// final reports whether an identity search's hits end the window's
// search (the fast path): a strong match whose time scale was found
// inside the refinement range, and whose aligned anchors span most of the
// window (fastPathMinSpan of its frames). At the range's edge the true
// speed may lie beyond it (a tempo-only change), so the variants are
// searched. So they are when the alignment is short: a query time-
// stretched 10 % without a pitch change (FFmpeg's atempo, which keeps
// short stretches of sound as they were) aligns 60-120 hashes at speed 1
// in pieces spanning 45-75 % of a 20 s window. Measured on the public set
// (48 excerpts per condition), tempo 0.90 / 1.10: 0.81 / 0.79 at 10 s and
// 0.77 / 0.69 at 20 s with no span rule; 0.96 / 0.92 and 0.96 / 0.96 at
// 0.8, for a median match time of positives of 32 ms instead of 18 ms (on
// a 1.3 h store): more noisy queries take the variant search.
func (m *Matcher) final(hits []windowHit, frames int) bool {
	for _, h := range hits {
		if h.score >= m.p.FastPathScore && math.Abs(h.slope-1) < slopeSteps*slopeStep-1e-9 && math.Abs(h.a-1) < fastPathMaxSpeedDev &&
			h.run >= fastPathMinSpan*float64(frames) {
			return true
		}
	}
	return false
}

// fastPathMinSpan is the share of a window its fast-path match must span
// (see final).
const fastPathMinSpan = 0.8

// betterPerWork returns, for every work found by either search, the
// stronger of its two hits (more aligned hashes; the more confident on a
// tie). Both passed MinConfidence, and the alignment at the true speed
// aligns the most hashes. The variant search aligns each work under the
// few variants its vote ranks best, which may leave out the identity: a
// work the identity search had found would otherwise be lost to its own
// weaker alignment at a wrong speed.
func betterPerWork(identity, variants []windowHit) []windowHit {
	out := slices.Clone(variants)
	for _, h := range identity {
		i := slices.IndexFunc(out, func(o windowHit) bool { return o.num == h.num })
		switch {
		case i < 0:
			out = append(out, h)
		case h.score > out[i].score || (h.score == out[i].score && h.confidence > out[i].confidence):
			out[i] = h
		}
	}
	return out
}

// fastPathMaxSpeedDev: the identity search's answer is final only when
// its fitted speed is within 1 % of 1; beyond, the identity's drift over a
// long window may have aligned only part of the query.
const fastPathMaxSpeedDev = 0.01
