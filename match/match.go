// Package match finds registered works in a query print: candidate works
// from the index's postings, then temporal alignment by offset voting,
// then segments with a calibrated confidence.
//
// # Method
//
//  1. The query is cut into windows (Params.WindowSeconds, overlapping by
//     half). Each window is searched on its own; results are merged.
//  2. Candidates: every pair of the window's peaks is hashed under the
//     identity variant (fingerprint.QueryHashes, with neighbouring levels
//     for values near a quantisation boundary) and looked up in the
//     postings, which carry each work's anchor times. Every hit votes for
//     (work, variant, offset bin of voteBinFrames); works are ranked by
//     their best two adjacent bins (Wang 2003's offset histogram). The
//     vote runs in two passes so that memory stays bounded on any store:
//     hits are first counted per (work, variant) in a dense array, and
//     only the pairs with the most hits (at most votePairs) collect offset
//     bins, which are sorted and counted. If a
//     work aligns Params.FastPathScore hashes or more at a time scale
//     inside the refinement range, the search stops there. Otherwise the
//     window is hashed again under every variant of Params.Variants
//     (speed, tempo-only, pitch-only hypotheses) and searched once more.
//     Query-side variants cost extra lookups per query; index-side variants
//     would multiply the store.
//  3. Alignment: for each of the Params.MaxCandidates best works, the
//     query's hashes are joined with the work's landmarks (recomputed from
//     its stored peaks); each match gives an offset (reference time minus
//     query time). The score is the largest number of distinct hash values
//     whose offsets fall in a window of OffsetToleranceFrames frames. The
//     time scale is refined in steps of slopeStep around the variant's,
//     which also measures the query's speed precisely.
//  4. Decision: the background is the mean score of the same work's
//     unrelated offsets (windows ranked backgroundFrom to backgroundTo:
//     the best few may be true repeats of a looped passage). The
//     statistic z = (score - background) / sqrt(background + 1) is mapped
//     to a confidence by a logistic calibrated on unrelated music, speech
//     and noise (confidenceOf), whose centre rises with the number of works
//     the window hit (more works compete, more chance alignments). A
//     segment needs MinAligned hashes and MinConfidence.
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
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"

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
}

// New returns a matcher over store.
func New(store *index.Store, p Params, logger *slog.Logger) (*Matcher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Matcher{store: store, p: p, fp: store.Params(), log: logger, cache: newRefCache(refCacheLandmarks)}, nil
}

// Store returns the store the matcher reads.
func (m *Matcher) Store() *index.Store { return m.store }

// windowHit is one work found in one window, with its alignment
// refFrame = A*queryFrame + B in absolute query frames.
type windowHit struct {
	num          uint32
	a, b         float64
	pitch        float64
	first, last  float64 // query frames of the first and last aligned anchors
	score        int
	confidence   float64
	refFrames    int
	pairsInRange int
	variant      int
	slope        float64
	background   float64
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

// matchWindow searches one window: identity first, then the variants.
func (m *Matcher) matchWindow(ctx context.Context, peaks []fingerprint.Peak, frames int) ([]windowHit, error) {
	identity := []fingerprint.Variant{{TimeScale: 1}}
	hits, err := m.search(ctx, peaks, frames, identity)
	if err != nil {
		return nil, err
	}
	// The fast path holds only for a strong match whose time scale was
	// found inside the refinement range; at its edge the true speed may lie
	// beyond it (a tempo-only change), so the variants are searched.
	for _, h := range hits {
		if h.score >= m.p.FastPathScore && math.Abs(h.slope-1) < slopeSteps*slopeStep-1e-9 && math.Abs(h.a-1) < fastPathMaxSpeedDev {
			return hits, nil
		}
	}
	if len(m.p.Variants) == 0 {
		return hits, nil
	}
	return m.search(ctx, peaks, frames, append(identity, m.p.Variants...))
}

// entry is one query hash under one variant.
type entry struct {
	hash    uint32
	variant uint16
	pair    uint32
	frame   float32 // anchor time in reference frames (query time * TimeScale)
	qframe  float32 // anchor time in query frames
}

func (m *Matcher) search(ctx context.Context, peaks []fingerprint.Peak, frames int, variants []fingerprint.Variant) ([]windowHit, error) {
	var entries []entry
	for vi, v := range variants {
		m.fp.QueryHashes(peaks, v, func(pair int, t float64, hash uint32) {
			entries = append(entries, entry{hash: hash, variant: uint16(vi), pair: uint32(pair), frame: float32(t), qframe: float32(t / v.TimeScale)})
		})
	}
	if len(entries) == 0 {
		return nil, nil
	}
	slices.SortFunc(entries, func(x, y entry) int {
		return cmp.Or(cmp.Compare(x.hash, y.hash), cmp.Compare(x.variant, y.variant))
	})
	uniq := make([]uint32, 0, len(entries)/2)
	for i, e := range entries {
		if i == 0 || e.hash != entries[i-1].hash {
			uniq = append(uniq, e.hash)
		}
	}

	// Vote on (work, variant, coarse offset): Wang's offset histogram,
	// straight from the postings' anchor times. In two passes, so that
	// memory stays bounded however dense the store: the first counts hits
	// per (work, variant) in a dense array (keeping the lists); the second
	// collects offset bins only for the pairs with the most hits (see
	// votePairs), sorts them and counts runs. A map of every (work,
	// variant, bin) hit took gigabytes on a store of 100,000 works.
	nv := len(variants)
	maxNum := m.store.MaxLive()
	counts := make([]uint16, (int(maxNum)+1)*nv)
	span := func(hash uint32) (int, int) {
		// Binary search, not a forward-only cursor: correct whatever order
		// the store reports hashes in.
		pos, _ := slices.BinarySearchFunc(entries, hash, func(e entry, h uint32) int { return cmp.Compare(e.hash, h) })
		end := pos
		for end < len(entries) && entries[end].hash == hash {
			end++
		}
		return pos, end
	}
	// The lists are kept for the second pass, flat (per hash, the hash
	// and its works; per work, its number, count and times), up to
	// keptWords; past that the second pass reads them again.
	var kept []uint32
	overflow := false
	err := m.store.Postings(ctx, uniq, func(hash uint32, works []uint32, times [][]uint32) {
		pos, end := span(hash)
		head := len(kept)
		if !overflow {
			kept = append(kept, hash, 0)
		}
		for wi, w := range works {
			if w > maxNum {
				continue // registered after the search began
			}
			if !overflow {
				kept[head+1]++
				kept = append(kept, w, uint32(len(times[wi])))
				kept = append(kept, times[wi]...)
			}
			base := int(w) * nv
			n := len(times[wi])
			for _, e := range entries[pos:end] {
				c := &counts[base+int(e.variant)]
				*c = uint16(min(int(*c)+n, math.MaxUint16))
			}
		}
		if len(kept) > keptWords {
			kept, overflow = nil, true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("match: postings: %w", err)
	}
	threshold, worksSeen := voteThreshold(counts, nv, m.p.MinAligned)
	var keys []uint64
	vote := func(pos, end int, w uint32, ts []uint32) {
		base := int(w) * nv
		for _, e := range entries[pos:end] {
			if int(counts[base+int(e.variant)]) < threshold {
				continue
			}
			for _, t := range ts {
				bin := int64(math.Floor((float64(t) - float64(e.frame)) / voteBinFrames))
				keys = append(keys, voteKey(w, e.variant, bin))
			}
		}
	}
	if overflow {
		err = m.store.Postings(ctx, uniq, func(hash uint32, works []uint32, times [][]uint32) {
			pos, end := span(hash)
			for wi, w := range works {
				if w <= maxNum {
					vote(pos, end, w, times[wi])
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("match: postings: %w", err)
		}
	}
	for off := 0; off < len(kept); {
		pos, end := span(kept[off])
		nWorks := int(kept[off+1])
		off += 2
		for range nWorks {
			w, n := kept[off], int(kept[off+1])
			vote(pos, end, w, kept[off+2:off+2+n])
			off += 2 + n
		}
	}
	slices.Sort(keys)

	// Rank (work, variant) by the best pair of adjacent offset bins.
	type cand struct {
		num     uint32
		variant uint16
		score   int32
	}
	best := map[uint64]int32{} // (work, variant) -> best adjacent-bins score
	type run struct {
		key uint64
		n   int32
	}
	var runs []run
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		runs = append(runs, run{keys[i], int32(j - i)})
		i = j
	}
	for i, r := range runs {
		sc := r.n
		nb := int32(0)
		if i > 0 && runs[i-1].key == r.key-1 && runs[i-1].key>>24 == r.key>>24 {
			nb = runs[i-1].n
		}
		if i+1 < len(runs) && runs[i+1].key == r.key+1 && runs[i+1].key>>24 == r.key>>24 {
			nb = max(nb, runs[i+1].n)
		}
		sc += nb
		wv := r.key >> 24 // work and variant
		if sc > best[wv] {
			best[wv] = sc
		}
	}
	var ranked []cand
	for wv, sc := range best {
		if int(sc) >= m.p.MinAligned {
			ranked = append(ranked, cand{num: uint32(wv >> 8), variant: uint16(wv) & 0xff, score: sc})
		}
	}
	slices.SortFunc(ranked, func(x, y cand) int {
		if x.score != y.score {
			return int(y.score) - int(x.score)
		}
		if x.num != y.num {
			return int(x.num) - int(y.num)
		}
		return int(x.variant) - int(y.variant)
	})
	// Keep the best MaxCandidates works, each with its variants scoring at
	// least half its best.
	type workCand struct {
		num      uint32
		best     int32
		variants []uint16
	}
	var cands []*workCand
	byNum := map[uint32]*workCand{}
	for _, c := range ranked {
		wc := byNum[c.num]
		if wc == nil {
			if len(cands) == m.p.MaxCandidates {
				continue
			}
			wc = &workCand{num: c.num, best: c.score}
			byNum[c.num] = wc
			cands = append(cands, wc)
		}
		if 2*c.score >= wc.best && len(wc.variants) < maxVariantsPerCandidate {
			wc.variants = append(wc.variants, c.variant)
		}
	}

	// Group entries by variant once, each list still sorted by hash.
	byVariant := make([][]entry, len(variants))
	for _, e := range entries {
		byVariant[e.variant] = append(byVariant[e.variant], e)
	}

	var out []windowHit
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref, err := m.refLandmarks(c.num)
		if err != nil {
			// Deleted between the vote and now: skip it.
			m.log.Debug("candidate vanished", "work_num", c.num, "err", err)
			continue
		}
		h, ok := m.align(c.num, ref, byVariant, c.variants, variants, frames, worksSeen)
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// refLandmarks returns a work's landmarks sorted by hash, cached.
func (m *Matcher) refLandmarks(num uint32) (*refPrint, error) {
	if r := m.cache.get(num); r != nil {
		return r, nil
	}
	peaks, err := m.store.Peaks(num)
	if err != nil {
		return nil, err
	}
	lms := m.fp.Landmarks(peaks)
	slices.SortFunc(lms, fingerprint.CompareLandmarks)
	frames := 0
	if len(peaks) > 0 {
		frames = int(peaks[len(peaks)-1].Time) + 1
	}
	r := &refPrint{landmarks: lms, frames: frames}
	m.cache.put(num, r)
	return r, nil
}

// hit is one query entry matched with one reference landmark.
type hit struct {
	qframe float32 // query anchor time, frames
	sframe float32 // query anchor time scaled by the variant's time scale
	rframe float32 // reference anchor time, frames
	hash   uint32
}

// voteBinFrames is the width of the coarse offset bins of the first
// stage (16 frames, 0.5 s); two adjacent bins are scored together, so an
// offset drifting by up to a bin over a window (a residual speed error of
// 2.5 % over 20 s) still gathers its votes.
const voteBinFrames = 16

// fastPathMaxSpeedDev: the identity search's answer is final only when
// its fitted speed is within 1 % of 1; beyond, the identity's drift over a
// long window may have aligned only part of the query.
const fastPathMaxSpeedDev = 0.01

// maxVariantsPerCandidate bounds how many variants are aligned per work.
const maxVariantsPerCandidate = 4

// keptWords bounds the postings a search keeps for its second pass (64 MB);
// past it, the second pass reads them again from the store.
const keptWords = 16 << 20

// votePairs bounds how many (work, variant) pairs collect offset votes: the
// ones with the most hits. On a small store every pair with MinAligned
// hits qualifies; on a dense one (a million works) unrelated pairs gather
// a dozen hits by chance and only the tail is kept, which the true work,
// aligned, tops.
const votePairs = 4096

// voteThreshold returns the fewest hits a (work, variant) pair needs to
// collect votes (at least minAligned, raised until at most votePairs
// pairs qualify), and how many works were hit at all.
func voteThreshold(counts []uint16, nv, minAligned int) (threshold, works int) {
	var hist [1024]int
	for w := 0; w < len(counts); w += nv {
		hit := false
		for _, c := range counts[w : w+nv] {
			if c > 0 {
				hit = true
				hist[min(int(c), len(hist)-1)]++
			}
		}
		if hit {
			works++
		}
	}
	threshold = minAligned
	n := 0
	for c := len(hist) - 1; c >= minAligned; c-- {
		if n+hist[c] > votePairs {
			threshold = c + 1
			break
		}
		n += hist[c]
	}
	return threshold, works
}

func voteKey(w uint32, v uint16, bin int64) uint64 {
	return uint64(w)<<32 | uint64(v)<<24 | uint64(bin+1<<23)&(1<<24-1)
}

func splitVoteKey(k uint64) (uint32, uint16, int64) {
	return uint32(k >> 32), uint16(k>>24) & 0xff, int64(k&(1<<24-1)) - 1<<23
}

// slopeSteps refine the variant's time scale by ±slopeStep*k.
const (
	slopeStep  = 0.004
	slopeSteps = 4
)

func (m *Matcher) align(num uint32, ref *refPrint, byVariant [][]entry, tryVariants []uint16,
	variants []fingerprint.Variant, frames int, worksSeen int) (windowHit, bool) {
	var bestHit windowHit
	found := false
	tol := float64(m.p.OffsetToleranceFrames)
	var hits []hit
	var offs []offPair
	try := func(vi int, f float64) {
		offs = offsetsAt(offs[:0], hits, f)
		score, off := densest(offs, tol)
		if score <= bestHit.score {
			return
		}
		v := variants[vi]
		first, last := alignedExtent(hits, f, off, tol)
		bestHit = windowHit{
			num: num, a: v.TimeScale * f, b: off + tol/2, pitch: -v.PitchShift,
			first: first, last: last, score: score, refFrames: ref.frames,
			pairsInRange: len(hits), variant: vi, slope: f,
		}
		found = true
	}
	// Each variant at its own time scale first; then the slope is refined
	// around the best variant only, from its own outwards (on a tie, the
	// nearest to the variant wins).
	for _, vi := range tryVariants {
		hits = joinHits(hits[:0], byVariant[vi], ref.landmarks)
		if len(hits) >= m.p.MinAligned {
			try(int(vi), 1)
		}
	}
	if found {
		vi := bestHit.variant
		hits = joinHits(hits[:0], byVariant[vi], ref.landmarks)
		for ki := 1; ki <= 2*slopeSteps; ki++ {
			k := (ki + 1) / 2
			if ki%2 == 1 {
				k = -k
			}
			try(vi, 1+float64(k)*slopeStep)
		}
	}
	if !found || bestHit.score < m.p.MinAligned {
		return windowHit{}, false
	}
	// Refine the time scale and offset by least squares over the aligned
	// hits of the winning variant: the grid and slope steps only bracket
	// them, the fit measures them (speed to about 0.1 %).
	hits = joinHits(hits[:0], byVariant[bestHit.variant], ref.landmarks)
	if a, b, ok := fitAligned(hits, bestHit.slope, bestHit.b-tol/2, tol); ok {
		bestHit.a, bestHit.b = a, b
	}
	// Decision statistic (package doc, step 4).
	bestHit.background = m.background(bestHit, ref, byVariant)
	bestHit.confidence = confidenceOf(bestHit.score, bestHit.background, worksSeen)
	m.log.Debug("aligned", "work_num", num, "score", bestHit.score, "background", bestHit.background,
		"confidence", bestHit.confidence, "hits", bestHit.pairsInRange, "speed", bestHit.a)
	if bestHit.confidence < m.p.MinConfidence {
		return windowHit{}, false
	}
	return bestHit, true
}

// joinHits merge-joins query entries and reference landmarks, both sorted
// by hash.
func joinHits(dst []hit, q []entry, ref []fingerprint.Landmark) []hit {
	i, j := 0, 0
	for i < len(q) && j < len(ref) {
		switch {
		case q[i].hash < ref[j].Hash:
			i++
		case q[i].hash > ref[j].Hash:
			j++
		default:
			h := q[i].hash
			jEnd := j
			for jEnd < len(ref) && ref[jEnd].Hash == h {
				jEnd++
			}
			for ; i < len(q) && q[i].hash == h; i++ {
				for _, r := range ref[j:jEnd] {
					dst = append(dst, hit{qframe: q[i].qframe, sframe: q[i].frame, rframe: r.Time, hash: h})
				}
			}
			j = jEnd
		}
	}
	return dst
}

// offPair packs an offset and a hash for sorting as one integer: the
// offset in fixed point (1/offsetScale frame, biased to be unsigned) in
// the high 32 bits, the hash in the low 32. Sorting []uint64 is several
// times faster than sorting structs by a float field.
type offPair uint64

// offsetScale is the fixed-point resolution of offsets: 1/16 frame (2 ms),
// far below the alignment tolerance; ±2^31/16 frames is over 1,000 hours.
const offsetScale = 16

func packOffset(off float64, hash uint32) offPair {
	return offPair(uint64(uint32(int64(math.Floor(off*offsetScale))+1<<31))<<32 | uint64(hash))
}

func (o offPair) offset() float64 { return float64(int64(o>>32)-1<<31) / offsetScale }
func (o offPair) key() uint32     { return uint32(o) }

// offsetsAt appends to dst the offset (reference time minus query time
// scaled by slope) of every hit, sorted by offset.
func offsetsAt(dst []offPair, hits []hit, slope float64) []offPair {
	for _, h := range hits {
		dst = append(dst, packOffset(float64(h.rframe)-float64(h.sframe)*slope, h.hash))
	}
	slices.Sort(dst)
	return dst
}

// densest returns the largest number of distinct hash values whose
// offsets (sorted) lie in a window [off, off+tol], and that window's
// start. Counting hash values, not matches, discounts the runs of
// identical hashes that a sustained interval produces in two unrelated
// recordings at one offset; a true match aligns many different hashes.
func densest(offs []offPair, tol float64) (int, float64) {
	best, bestOff := 0, 0.0
	seen := map[uint32]int{}
	lo := 0
	distinct := 0
	for hi := range offs {
		if seen[offs[hi].key()] == 0 {
			distinct++
		}
		seen[offs[hi].key()]++
		for offs[hi].offset()-offs[lo].offset() > tol {
			seen[offs[lo].key()]--
			if seen[offs[lo].key()] == 0 {
				distinct--
			}
			lo++
		}
		if distinct > best {
			best, bestOff = distinct, offs[lo].offset()
		}
	}
	return best, bestOff
}

// Confidence calibration: the logistic of the alignment's z statistic,
// z = (score - background) / sqrt(background + 1). Measured on the public
// set (10 s queries, every variant searched): unrelated music, speech and
// noise reach z <= 6; true matches under 0 dB noise or another song mixed
// in mostly exceed 8. The logistic is centred between the two
// (confidenceZ0) with slope confidenceSlope, so MinConfidence 0.9 means
// z >= 6.9.
//
// Catalogue-size correction: that calibration was made on stores of a few
// hundred works. A window is compared with every work its hashes hit, and
// the best-voted few are aligned under several hypotheses each; the more
// works compete, the higher the best unrelated z climbs by chance. The
// scale simulation (corpus/bench, synthetic works of 10 s) measured it:
// with no correction, speech and unregistered music matched at z 7.4-7.8
// on stores of 10,000 to 100,000 works (false-positive rate 0.03 and
// 0.12). The centre therefore rises by confidencePerLogWorks for every
// factor e of works hit beyond confidenceBaseWorks: +1.2 at 10,000, +2.3 at
// 100,000, +3.5 at 1,000,000. Weak true matches are lost first on a
// large store; that is the price of not paying the wrong people.
const (
	confidenceZ0          = 5.5
	confidenceSlope       = 1.6
	confidenceBaseWorks   = 1000
	confidencePerLogWorks = 0.5
)

// confidenceOf maps a score and its background to a confidence in [0, 1],
// given how many works the window's hashes hit.
func confidenceOf(score int, background float64, works int) float64 {
	z := (float64(score) - background) / math.Sqrt(background+1)
	z0 := confidenceZ0
	if works > confidenceBaseWorks {
		z0 += confidencePerLogWorks * math.Log(float64(works)/confidenceBaseWorks)
	}
	return 1 / (1 + math.Exp(-confidenceSlope*(z-z0)))
}

// background estimates how many distinct hashes an unrelated offset
// aligns for this work: the mean count of the offset windows ranked
// backgroundFrom to backgroundTo (the best few may be true repeats of the
// matched passage, which looped or repeated music legitimately has).
func (m *Matcher) background(h windowHit, ref *refPrint, byVariant [][]entry) float64 {
	hits := joinHits(nil, byVariant[h.variant], ref.landmarks)
	tol := float64(m.p.OffsetToleranceFrames)
	offs := offsetsAt(nil, hits, h.slope)
	// Distinct hashes per window of width tol, windows tiled over the offsets.
	var counts []int
	seen := map[uint32]bool{}
	start := math.Inf(-1)
	for _, o := range offs {
		if o.offset() >= start+tol {
			if len(seen) > 0 {
				counts = append(counts, len(seen))
			}
			clear(seen)
			start = o.offset()
		}
		seen[o.key()] = true
	}
	if len(seen) > 0 {
		counts = append(counts, len(seen))
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	lo, hi := min(backgroundFrom, len(counts)), min(backgroundTo, len(counts))
	if lo >= hi {
		return 0
	}
	sum := 0
	for _, c := range counts[lo:hi] {
		sum += c
	}
	return float64(sum) / float64(hi-lo)
}

// The background is the mean of the windows ranked backgroundFrom to
// backgroundTo by count.
const (
	backgroundFrom = 4
	backgroundTo   = 24
)

// maxGapFrames is the longest gap (1.5 s) between aligned
// anchors within one segment: peaks are dense in music, so a longer gap
// means the work stopped.
const maxGapFrames = 47

// alignedExtent returns the query times (frames) of the first and last
// aligned anchors of the largest run of aligned hits whose successive gaps
// are at most maxGapFrames. A few unrelated hits fall on the aligned
// offset by chance anywhere in the window; taking the densest run keeps
// them from stretching the segment.
func alignedExtent(hits []hit, slope, off, tol float64) (float64, float64) {
	var qs []float64
	for _, h := range hits {
		o := float64(h.rframe) - float64(h.sframe)*slope
		if o >= off && o <= off+tol {
			qs = append(qs, float64(h.qframe))
		}
	}
	if len(qs) == 0 {
		return 0, 0
	}
	slices.Sort(qs)
	// One time per anchor: an anchor's several matching hashes would make
	// a stray anchor look like a dense run.
	kept := qs[:1]
	for _, q := range qs[1:] {
		if q-kept[len(kept)-1] >= 0.5 {
			kept = append(kept, q)
		}
	}
	qs = kept
	bestN, bestLo, bestHi := 0, 0, 0
	lo := 0
	for i := 1; i <= len(qs); i++ {
		if i == len(qs) || qs[i]-qs[i-1] > maxGapFrames {
			if i-lo > bestN {
				bestN, bestLo, bestHi = i-lo, lo, i-1
			}
			lo = i
		}
	}
	// Trim isolated hits off both ends: a stray hit just outside the work's
	// part of the query is more than isolatedFrames from the next one, the
	// work's own hits are not.
	for bestHi-bestLo >= 2 && qs[bestLo+1]-qs[bestLo] > isolatedFrames {
		bestLo++
	}
	for bestHi-bestLo >= 2 && qs[bestHi]-qs[bestHi-1] > isolatedFrames {
		bestHi--
	}
	return qs[bestLo], qs[bestHi]
}

// isolatedFrames: an aligned hit further than this (0.5 s) from its
// neighbour at the end of a run is not taken as the segment's edge.
const isolatedFrames = 16

// fitAligned fits rframe = a*qframe + b by least squares over the hits
// aligned at (slope, off, tol), in query frames. ok is false when the
// aligned hits span too little time to fit a slope (under 2 s).
func fitAligned(hits []hit, slope, off, tol float64) (a, b float64, ok bool) {
	var n, sx, sy, sxx, sxy float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, h := range hits {
		o := float64(h.rframe) - float64(h.sframe)*slope
		if o < off || o > off+tol {
			continue
		}
		x, y := float64(h.qframe), float64(h.rframe)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
		lo, hi = min(lo, x), max(hi, x)
	}
	if n < 5 || hi-lo < 62 {
		return 0, 0, false
	}
	den := n*sxx - sx*sx
	if den <= 0 {
		return 0, 0, false
	}
	a = (n*sxy - sx*sy) / den
	b = (sy - a*sx) / n
	return a, b, true
}
