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
//     bins, each written straight into its pair's slice of one array (a
//     pair's hit count is its number of votes) and counted in a dense
//     histogram per pair: linear in the votes. If a
//     work aligns Params.FastPathScore hashes or more at a time scale
//     inside the refinement range, the search stops there. Otherwise the
//     identity is searched again with each anchor paired with the
//     Params.TargetsPerZone strongest peaks of each target sub-zone (the
//     reference's target may have been displaced by a louder peak of a
//     mixed-in song), with the same stop rule. Then the
//     window is hashed again under every variant of Params.Variants
//     (speed, tempo-only, pitch-only hypotheses) and searched once more.
//     Query-side variants cost extra lookups per query; index-side variants
//     would multiply the store.
//  3. Alignment: for each of the Params.MaxCandidates best works, the
//     query's hashes are joined with the work's landmarks that share a
//     hash with the query, which are exactly the postings the vote read
//     (recomputed from the stored peaks only when a search read more
//     postings than it keeps); each match gives an offset (reference time
//     minus query time). The score is the largest number of distinct hash values
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
//     second test weighs the score against the best other work the
//     window aligned (the crowd test, see crowdZ): a looped work's own
//     background is high, but a true match of it stands far above every
//     other work. Passing both tests at a lower bar is worth passing the
//     own test alone at the full one. An alignment found under a variant
//     needs more than one found under the identity (confidenceVariantZ):
//     the variant search makes many more tries. A segment needs
//     MinAligned hashes and MinConfidence. When the variant search runs,
//     a work keeps the more confident of its identity and variant
//     alignments.
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
	"fmt"
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

// windowHit is one work found in one window, with its alignment
// refFrame = A*queryFrame + B in absolute query frames.
type windowHit struct {
	num          uint32
	a, b         float64
	pitch        float64
	first, last  float64 // query frames of the first and last aligned anchors
	score        int
	confidence   float64
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

// matchWindow searches one window: the identity first, with one target
// per sub-zone, then (unless that found a strong match) the identity with
// Params.TargetsPerZone targets, then every variant.
func (m *Matcher) matchWindow(ctx context.Context, peaks []fingerprint.Peak, frames int) ([]windowHit, error) {
	identity := []fingerprint.Variant{{TimeScale: 1}}
	hits, err := m.search(ctx, peaks, frames, identity, 1)
	if err != nil {
		return nil, err
	}
	if m.final(hits, frames) {
		return hits, nil
	}
	if m.p.TargetsPerZone > 1 {
		more, err := m.search(ctx, peaks, frames, identity, m.p.TargetsPerZone)
		if err != nil {
			return nil, err
		}
		hits = betterPerWork(hits, more)
		if m.final(hits, frames) {
			return hits, nil
		}
	}
	if len(m.p.Variants) == 0 {
		return hits, nil
	}
	all, err := m.search(ctx, peaks, frames, append(identity, m.p.Variants...), 1)
	if err != nil {
		return nil, err
	}
	return betterPerWork(hits, all), nil
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
			h.last-h.first >= fastPathMinSpan*float64(frames) {
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

// entry is one query hash under one variant.
type entry struct {
	hash    uint32
	variant uint16
	pair    uint32
	frame   float32 // anchor time in reference frames (query time * TimeScale)
	qframe  float32 // anchor time in query frames
}

// scratch holds a search's large buffers, reused across searches (a
// Matcher keeps them in a sync.Pool): a search under every variant on a
// 12-hour store fills tens of megabytes, which, allocated afresh, cost as
// much in garbage collection as the search itself.
type scratch struct {
	entries    []entry
	entriesTmp []entry
	uniq       []uint32
	uniqPos    []int32
	counts     []uint16
	kept       []uint32
	bins       []int32
	align      alignScratch
}

// maxPooledWords bounds the buffers a pooled scratch keeps (in 4-byte
// words, 64 MiB): a rare huge search does not pin its memory forever.
const maxPooledWords = 16 << 20

func (m *Matcher) getScratch() *scratch {
	if sc, ok := m.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

func (m *Matcher) putScratch(sc *scratch) {
	a := &sc.align
	words := 5*(cap(sc.entries)+cap(sc.entriesTmp)) + cap(sc.uniq) + cap(sc.uniqPos) + cap(sc.counts)/2 + cap(sc.kept) + cap(sc.bins) +
		4*cap(a.near) + 2*(cap(a.offs)+cap(a.tmp)) + cap(a.seen)
	for i := range a.hitsV {
		words += 4*cap(a.hitsV[i]) + 2*cap(a.offsV[i])
	}
	if words <= maxPooledWords {
		m.pool.Put(sc)
	}
}

func (m *Matcher) search(ctx context.Context, peaks []fingerprint.Peak, frames int, variants []fingerprint.Variant, k int) ([]windowHit, error) {
	sc := m.getScratch()
	defer m.putScratch(sc)
	entries := sc.entries[:0]
	defer func() { sc.entries = entries[:0] }()
	for vi, v := range variants {
		m.fp.QueryHashesK(peaks, v, k, func(pair int, t float64, hash uint32) {
			entries = append(entries, entry{hash: hash, variant: uint16(vi), pair: uint32(pair), frame: float32(t), qframe: float32(t / v.TimeScale)})
		})
	}
	if len(entries) == 0 {
		return nil, nil
	}
	// By hash, then variant: entries were made variant by variant, and
	// the sort is stable.
	sc.entriesTmp = sortEntriesByHash(entries, sc.entriesTmp)
	// The distinct hashes, and where each one's entries start
	// (uniqPos[i], up to uniqPos[i+1]).
	uniq, uniqPos := sc.uniq[:0], sc.uniqPos[:0]
	defer func() { sc.uniq, sc.uniqPos = uniq[:0], uniqPos[:0] }()
	for i, e := range entries {
		if i == 0 || e.hash != entries[i-1].hash {
			uniq = append(uniq, e.hash)
			uniqPos = append(uniqPos, int32(i))
		}
	}
	uniqPos = append(uniqPos, int32(len(entries)))

	// Vote on (work, variant, coarse offset): Wang's offset histogram,
	// straight from the postings' anchor times. In two passes, so that
	// memory stays bounded however dense the store: the first counts hits
	// per (work, variant) in a dense array (keeping the lists); the second
	// collects offset bins only for the pairs with the most hits (see
	// votePairs), sorts them and counts runs. A map of every (work,
	// variant, bin) hit took gigabytes on a store of 100,000 works.
	nv := len(variants)
	maxNum := m.store.MaxLive()
	counts := sc.counts
	if n := (int(maxNum) + 1) * nv; cap(counts) < n {
		counts = make([]uint16, n)
	} else {
		counts = counts[:n]
		clear(counts)
	}
	sc.counts = counts
	// readPostings calls fn with every postings list of the distinct
	// hashes and the hash's index in uniq. The store reports hashes in
	// ascending order, so a cursor walks uniq once; a hash behind it (a
	// store that ever reports otherwise) is found by binary search.
	readPostings := func(fn func(u int, it *index.PostingsIter)) error {
		cur := 0
		err := m.store.Postings(ctx, uniq, func(hash uint32, it *index.PostingsIter) {
			if cur < len(uniq) && uniq[cur] > hash {
				cur, _ = slices.BinarySearch(uniq, hash)
			}
			for cur < len(uniq) && uniq[cur] < hash {
				cur++
			}
			if cur < len(uniq) && uniq[cur] == hash {
				fn(cur, it)
			}
		})
		if err != nil {
			return fmt.Errorf("match: postings: %w", err)
		}
		return nil
	}
	// The lists are kept for the second pass, flat (per hash, its index
	// in uniq and its number of works; per work, its number, count and
	// times), up to keptWords; past that the second pass reads them
	// again.
	kept := sc.kept[:0]
	defer func() {
		if kept != nil {
			sc.kept = kept[:0]
		}
	}()
	overflow := false
	if err := readPostings(func(u int, it *index.PostingsIter) {
		pos, end := uniqPos[u], uniqPos[u+1]
		head := len(kept)
		if !overflow {
			kept = append(kept, uint32(u), 0)
		}
		for it.Next() {
			w, ts := it.At()
			if w > maxNum {
				continue // registered after the search began
			}
			if !overflow {
				kept[head+1]++
				kept = append(kept, w, uint32(len(ts)))
				kept = append(kept, ts...)
			}
			base := int(w) * nv
			n := len(ts)
			for _, e := range entries[pos:end] {
				c := &counts[base+int(e.variant)]
				*c = uint16(min(int(*c)+n, math.MaxUint16))
			}
		}
		if len(kept) > m.keptWords {
			kept, overflow = nil, true
		}
	}); err != nil {
		return nil, err
	}
	threshold, worksSeen := voteThreshold(counts, nv, m.p.MinAligned)
	// From here on counts[w*nv+v] holds the (work, variant) pair's index
	// plus one when it collects votes, 0 when it does not: votePairs fits
	// the counters, and no second array of the store's size is needed.
	// Past math.MaxUint16-1 qualifying pairs (only when more than that
	// many share the histogram's top bucket, see voteThreshold) the rest
	// are not voted on. A pair's hit count is its number of votes, so
	// each pair's slice of the vote array is known before voting, unless
	// its counter saturated.
	var pairs []uint32 // pair index -> w*nv+v
	var start []int    // pair index -> first vote; start[len(pairs)] = all votes
	saturated := false
	for i, c := range counts {
		if int(c) >= threshold && len(pairs) < math.MaxUint16-1 {
			pairs = append(pairs, uint32(i))
			start = append(start, int(c))
			saturated = saturated || c == math.MaxUint16
			counts[i] = uint16(len(pairs))
		} else {
			counts[i] = 0
		}
	}
	// eachList calls fn with every kept postings list of a voting pair:
	// the query entries of its hash (entries[pos:end]), the work and its
	// anchor times; from the store again when they were too many to keep.
	eachList := func(fn func(pos, end int32, w uint32, ts []uint32)) error {
		if overflow {
			return readPostings(func(u int, it *index.PostingsIter) {
				pos, end := uniqPos[u], uniqPos[u+1]
				for it.Next() {
					if w, ts := it.At(); w <= maxNum {
						fn(pos, end, w, ts)
					}
				}
			})
		}
		for off := 0; off < len(kept); {
			u := kept[off]
			pos, end := uniqPos[u], uniqPos[u+1]
			nWorks := int(kept[off+1])
			off += 2
			for range nWorks {
				w, n := kept[off], int(kept[off+1])
				fn(pos, end, w, kept[off+2:off+2+n])
				off += 2 + n
			}
		}
		return nil
	}
	if saturated {
		clear(start)
		if err := eachList(func(pos, end int32, w uint32, ts []uint32) {
			base := int(w) * nv
			for _, e := range entries[pos:end] {
				if pi := counts[base+int(e.variant)]; pi != 0 {
					start[pi-1] += len(ts)
				}
			}
		}); err != nil {
			return nil, err
		}
	}
	sum := 0
	for i, c := range start {
		start[i] = sum
		sum += c
	}
	start = append(start, sum)
	// Each vote is an offset bin, written straight into its pair's slice
	// of bins, then each pair's bins are counted in a dense histogram.
	// Sorting the votes instead cost most of a search on a 12-hour store,
	// and a vote array bucketed afterwards a fifth of a variant search.
	// A pair whose postings changed between two reads of the store (the
	// overflow case) gets at most its slice, filled as far as it goes.
	bins := sc.bins
	if cap(bins) < sum {
		bins = make([]int32, sum)
	}
	bins = bins[:sum]
	sc.bins = bins
	next := slices.Clone(start[:len(pairs)])
	if err := eachList(func(pos, end int32, w uint32, ts []uint32) {
		base := int(w) * nv
		for _, e := range entries[pos:end] {
			pi := int(counts[base+int(e.variant)])
			if pi == 0 {
				continue
			}
			pi--
			n, lim := next[pi], start[pi+1]
			for _, t := range ts {
				if n == lim {
					break
				}
				bins[n] = int32(floor((float64(t) - float64(e.frame)) / voteBinFrames))
				n++
			}
			next[pi] = n
		}
	}); err != nil {
		return nil, err
	}
	pairBest := bestAdjacentBins(bins, start, next)

	// Rank (work, variant) by the best pair of adjacent offset bins.
	type cand struct {
		num     uint32
		variant uint16
		score   int32
	}
	var ranked []cand
	for pi, sc := range pairBest {
		if int(sc) >= m.p.MinAligned {
			wv := int(pairs[pi])
			ranked = append(ranked, cand{num: uint32(wv / nv), variant: uint16(wv % nv), score: sc})
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
			if len(cands) == maxCandidatesExtended(m.p.MaxCandidates) {
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
	// The candidates' landmarks that share a hash with the query are what
	// the postings just returned (hash, work, times): alignment joins the
	// query with those, not with the whole stored print, which it would
	// have to decode and hash again. Only when the postings were too many
	// to keep are the stored prints read.
	var partial map[uint32]*refPrint
	if !overflow && len(cands) > 0 {
		partial = make(map[uint32]*refPrint, len(cands))
		// A work number's low bits rule out most works before the map
		// lookup, which was a tenth of a clean query's search.
		var maybe [16]uint64
		for _, c := range cands[:min(len(cands), m.p.MaxCandidates)] {
			partial[c.num] = &refPrint{}
			maybe[c.num>>6&15] |= 1 << (c.num & 63)
		}
		for off := 0; off < len(kept); {
			hash, nWorks := uniq[kept[off]], int(kept[off+1])
			off += 2
			for range nWorks {
				w, n := kept[off], int(kept[off+1])
				if maybe[w>>6&15]&(1<<(w&63)) == 0 {
					off += 2 + n
					continue
				}
				if r := partial[w]; r != nil {
					// Postings hold anchor times truncated to whole
					// frames: the frame's centre is the unbiased guess.
					for _, t := range kept[off+2 : off+2+n] {
						r.landmarks = append(r.landmarks, fingerprint.Landmark{Hash: hash, Time: float32(t) + 0.5})
					}
				}
				off += 2 + n
			}
		}
		for _, r := range partial {
			// Hashes come in the order they were asked for (ascending)
			// and times ascending within a list; sort only if a store
			// ever reports otherwise.
			if !slices.IsSortedFunc(r.landmarks, fingerprint.CompareLandmarks) {
				slices.SortFunc(r.landmarks, fingerprint.CompareLandmarks)
			}
		}
	}

	// Group entries by variant once, each list still sorted by hash.
	byVariant := make([][]entry, len(variants))
	for _, e := range entries {
		byVariant[e.variant] = append(byVariant[e.variant], e)
	}

	// Candidates are aligned MaxCandidates at a time. When every one of a
	// batch aligns, the next batch is aligned too: the batch may have been
	// filled by copies of one recording (registered again and again, by
	// one tenant or several), and a work ranked below them that truly
	// matches must not be crowded out. A batch with an unaligned work
	// means the vote has reached works that do not match.
	var out []windowHit
	for start := 0; start < len(cands); start += m.p.MaxCandidates {
		aligned := 0
		batch := cands[start:min(len(cands), start+m.p.MaxCandidates)]
		for _, c := range batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			ref := partial[c.num]
			var err error
			if ref == nil {
				ref, err = m.refLandmarks(c.num)
			}
			if err != nil {
				// Deleted between the vote and now: skip it.
				m.log.Debug("candidate vanished", "work_num", c.num, "err", err)
				continue
			}
			h, ok := m.align(c.num, ref, byVariant, c.variants, variants, &sc.align)
			if ok {
				out = append(out, h)
				aligned++
			}
		}
		if aligned < len(batch) {
			break
		}
	}
	// Decision (package doc, step 4): each work's alignment against its
	// own unrelated offsets, and against the other works the window hit.
	var decided []windowHit
	for i := range out {
		h := &out[i]
		second := 0
		for _, o := range out {
			if o.num != h.num {
				second = max(second, o.score)
			}
		}
		h.confidence = confidenceOf(h.score, h.background, second, m.p.MinAligned, worksSeen,
			variants[h.variant] != fingerprint.Variant{TimeScale: 1})
		m.log.Debug("aligned", "work_num", h.num, "score", h.score, "background", h.background, "second", second,
			"confidence", h.confidence, "hits", h.pairsInRange, "speed", h.a, "span_frames", h.last-h.first, "variants", len(variants))
		if h.confidence >= m.p.MinConfidence {
			decided = append(decided, *h)
		}
	}
	return decided, nil
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
	r := &refPrint{landmarks: lms}
	m.cache.put(num, r)
	return r, nil
}

// hit is one query entry matched with one reference landmark.
type hit struct {
	qframe float32 // query anchor time, frames
	sframe float32 // query anchor time scaled by the variant's time scale
	rframe float32 // reference anchor time, frames
	id     uint32  // the hash's number in its join (see joinHits)
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

// maxCandidatesExtended bounds the candidates aligned when batch after
// batch of MaxCandidates aligns (see search): 16 batches, so a query
// costs at most 16 times the alignment of a normal one, whatever a
// catalogue's duplicates.
func maxCandidatesExtended(maxCandidates int) int { return 16 * maxCandidates }

// maxVariantsPerCandidate bounds how many variants are aligned per work.
const maxVariantsPerCandidate = 4

// defaultKeptWords bounds the postings a search keeps for its second pass (64 MB);
// past it, the second pass reads them again from the store.
const defaultKeptWords = 16 << 20

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

// bestAdjacentBins returns, per pair index pi, the best count of two
// adjacent offset bins among bins[start[pi]:end[pi]]: one dense histogram
// per pair over the range of its bins, linear in the votes.
func bestAdjacentBins(bins []int32, start, end []int) []int32 {
	best := make([]int32, len(end))
	var hist []int32
	for pi := range end {
		bs := bins[start[pi]:end[pi]]
		if len(bs) == 0 {
			continue
		}
		lo, hi := slices.Min(bs), slices.Max(bs)
		size := int(hi-lo) + 3 // a zero bin either side
		if cap(hist) < size {
			hist = make([]int32, size)
		}
		hist = hist[:size]
		for _, b := range bs {
			hist[b-lo+1]++
		}
		var sc int32
		for i := 1; i < size-1; i++ {
			if c := hist[i]; c > 0 {
				sc = max(sc, c+max(hist[i-1], hist[i+1]))
			}
		}
		best[pi] = sc
		clear(hist)
	}
	return best
}

// slopeSteps refine the variant's time scale by ±slopeStep*k.
const (
	slopeStep  = 0.004
	slopeSteps = 4
)

// alignScratch holds align's buffers, reused across the candidates of a
// search: per variant tried, its hits and their offsets at slope 1.
type alignScratch struct {
	hitsV     [maxVariantsPerCandidate][]hit
	offsV     [maxVariantsPerCandidate][]offPair
	near      []hit
	offs, tmp []offPair
	seen      []int32
}

func (m *Matcher) align(num uint32, ref *refPrint, byVariant [][]entry, tryVariants []uint16,
	variants []fingerprint.Variant, as *alignScratch) (windowHit, bool) {
	var bestHit windowHit
	found := false
	tol := float64(m.p.OffsetToleranceFrames)
	// try scores the hits at slope f, given their offsets at f, sorted.
	try := func(vi int, f float64, hits []hit, offs []offPair) {
		var score int
		var off float64
		score, off, as.seen = densest(offs, tol, as.seen)
		if score <= bestHit.score {
			return
		}
		v := variants[vi]
		first, last := alignedExtent(hits, f, off, tol)
		bestHit = windowHit{
			num: num, a: v.TimeScale * f, b: off + tol/2, pitch: -v.PitchShift,
			first: first, last: last, score: score,
			pairsInRange: len(hits), variant: vi, slope: f,
		}
		found = true
	}
	// Each variant at its own time scale first; then the slope is refined
	// around the best variant only, from its own outwards (on a tie, the
	// nearest to the variant wins). The best variant's hits, joined once,
	// serve the refinement, the fit and the background.
	best := -1 // slot of tryVariants holding the best variant
	for i, vi := range tryVariants {
		as.hitsV[i] = joinHits(as.hitsV[i][:0], byVariant[vi], ref.landmarks)
		if len(as.hitsV[i]) >= m.p.MinAligned {
			as.offsV[i], as.tmp = offsetsAt(as.offsV[i][:0], as.hitsV[i], 1, as.tmp)
			if try(int(vi), 1, as.hitsV[i], as.offsV[i]); found && bestHit.variant == int(vi) {
				best = i
			}
		}
	}
	if !found {
		return windowHit{}, false
	}
	hits := as.hitsV[best]
	vi := bestHit.variant
	pairs := bestHit.pairsInRange
	// Only hits whose offset lies near the best one can align there at a
	// refined slope: a slope change of d moves an offset by d times the
	// hit's distance from the window's first anchor. The other hits (most
	// of them, on a long work) are left out of the refinement's sorts.
	as.near = nearOffset(as.near[:0], hits, bestHit.b-tol/2, tol, slopeSteps*slopeStep)
	for ki := 1; ki <= 2*slopeSteps; ki++ {
		k := (ki + 1) / 2
		if ki%2 == 1 {
			k = -k
		}
		f := 1 + float64(k)*slopeStep
		as.offs, as.tmp = offsetsAt(as.offs[:0], as.near, f, as.tmp)
		try(vi, f, as.near, as.offs)
	}
	bestHit.pairsInRange = pairs
	if bestHit.score < m.p.MinAligned {
		return windowHit{}, false
	}
	// Refine the time scale and offset by least squares over the aligned
	// hits of the winning variant: the grid and slope steps only bracket
	// them, the fit measures them (speed to about 0.1 %).
	if a, b, ok := fitAligned(hits, bestHit.slope, bestHit.b-tol/2, tol); ok {
		bestHit.a, bestHit.b = a, b
	}
	// Decision statistic (package doc, step 4): every hit's offset at the
	// winning slope (at slope 1, those the first loop sorted).
	// The confidence is set by search, which also knows the other works.
	offs := as.offsV[best]
	if bestHit.slope != 1 {
		as.offs, as.tmp = offsetsAt(as.offs[:0], hits, bestHit.slope, as.tmp)
		offs = as.offs
	}
	bestHit.background = m.background(offs)
	return bestHit, true
}

// joinHits merge-joins query entries and reference landmarks, both sorted
// by hash. Each hit's id numbers its hash among the joined hashes, from 0
// in hash order, so that counting distinct hashes needs no map.
func joinHits(dst []hit, q []entry, ref []fingerprint.Landmark) []hit {
	i, j := 0, 0
	id := uint32(0)
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
					dst = append(dst, hit{qframe: q[i].qframe, sframe: q[i].frame, rframe: r.Time, id: id})
				}
			}
			j = jEnd
			id++
		}
	}
	return dst
}

// offPair packs an offset and a hash id (see joinHits) for sorting as one
// integer: the offset in fixed point (1/offsetScale frame, biased to be
// unsigned) in the high 32 bits, the id in the low 32. Sorting []uint64 is several
// times faster than sorting structs by a float field.
type offPair uint64

// offsetScale is the fixed-point resolution of offsets: 1/16 frame (2 ms),
// far below the alignment tolerance; ±2^31/16 frames is over 1,000 hours.
const offsetScale = 16

func packOffset(off float64, id uint32) offPair {
	return offPair(uint64(uint32(floor(off*offsetScale)+1<<31))<<32 | uint64(id))
}

func (o offPair) offset() float64 { return float64(int64(o>>32)-1<<31) / offsetScale }
func (o offPair) key() uint32     { return uint32(o) }

// offsetsAt appends to dst the offset (reference time minus query time
// scaled by slope) of every hit, sorted by offset (see sortByOffset, to
// which tmp is passed and from which it is returned).
func offsetsAt(dst []offPair, hits []hit, slope float64, tmp []offPair) ([]offPair, []offPair) {
	n := len(dst)
	for _, h := range hits {
		dst = append(dst, packOffset(float64(h.rframe)-float64(h.sframe)*slope, h.id))
	}
	tmp = sortByOffset(dst[n:], tmp)
	return dst, tmp
}

// densest returns the largest number of distinct hash values whose
// offsets (sorted) lie in a window [off, off+tol], and that window's
// start. Counting hash values, not matches, discounts the runs of
// identical hashes that a sustained interval produces in two unrelated
// recordings at one offset; a true match aligns many different hashes.
// seen is scratch space (indexed by hash id), returned for reuse, zeroed.
func densest(offs []offPair, tol float64, seen []int32) (int, float64, []int32) {
	n := 0
	for _, o := range offs {
		n = max(n, int(o.key())+1)
	}
	if cap(seen) < n {
		seen = make([]int32, n)
	}
	seen = seen[:n]
	best, bestOff := 0, 0.0
	lo := 0
	distinct := 0
	for hi := range offs {
		k := offs[hi].key()
		if seen[k] == 0 {
			distinct++
		}
		seen[k]++
		for offs[hi].offset()-offs[lo].offset() > tol {
			kl := offs[lo].key()
			seen[kl]--
			if seen[kl] == 0 {
				distinct--
			}
			lo++
		}
		if distinct > best {
			best, bestOff = distinct, offs[lo].offset()
		}
	}
	for _, o := range offs[lo:] {
		seen[o.key()] = 0
	}
	return best, bestOff, seen
}

// nearOffset returns the hits that can fall in the window [off, off+tol]
// at slope 1 moved by at most dSlope. Hits on one line of slope 1+d have
// offsets (at slope 1) that move by d per frame of query time, so a line
// crossing the window spans at most dSlope times the hits' time span on
// either side of it.
func nearOffset(dst, hits []hit, off, tol, dSlope float64) []hit {
	if len(hits) == 0 {
		return dst
	}
	s0, s1 := float64(hits[0].sframe), float64(hits[0].sframe)
	for _, h := range hits {
		s0, s1 = min(s0, float64(h.sframe)), max(s1, float64(h.sframe))
	}
	reach := dSlope*(s1-s0) + 1
	for _, h := range hits {
		if o := float64(h.rframe) - float64(h.sframe); o >= off-reach && o <= off+tol+reach {
			dst = append(dst, h)
		}
	}
	return dst
}

// Confidence calibration: the logistic of the alignment's z statistic,
// z = (score - background) / sqrt(background + 1), centred at
// confidenceZ0 with slope confidenceSlope, so MinConfidence 0.9 means
// z >= 8.5. Measured on the public set (10 s queries, every variant
// searched, 1.3 h store): the 167 unrelated queries of the benchmark
// (music, speech, noise) reach z 8.1, music by the same composer as a
// registered work (HyperRogue's) the highest; true matches under 0 dB of
// noise or another song mixed in mostly exceed 9. A bar of z 6.9 let five
// of the 92 unrelated music excerpts match; at 8.5 none does, for a loss
// of at most 0.025 of recall under the hardest conditions (another song
// at -5 dB, white noise at 0 dB).
//
// Catalogue-size correction: that calibration was made on stores of a few
// hundred works. A window is compared with every work its hashes hit, and
// the best-voted few are aligned under several hypotheses each; the more
// works compete, the higher the best unrelated z climbs by chance. The
// scale simulation (corpus/bench, synthetic works of 10 s) measured it:
// with the earlier correction (+0.5 per factor e from 1,000 works),
// unrelated music matched at z 9.7 among 10,000 works and 11.3 among
// 100,000 (HyperRogue tracks against chunks of their siblings' prints),
// against 8.1 among 223: about +0.5 per factor e of works, from a lower
// base. The centre therefore rises by confidencePerLogWorks
// for every factor e of works hit beyond confidenceBaseWorks (the size of
// the stores the calibration was made on): +2.2 at 10,000, +3.6 at
// 100,000, +5.0 at 1,000,000, a margin of about 1 over what was measured.
// Weak true matches are lost first on a large store; that is the price
// of not paying the wrong people.
const (
	confidenceZ0          = 7.1
	confidenceSlope       = 1.6
	confidenceBaseWorks   = 250
	confidencePerLogWorks = 0.6
)

// Crowd test. Music built on loops repeats the matched passage at many
// offsets of the same work, which raises its own background: under -5 dB
// of white noise such a true match aligns 35-45 hashes over a background
// of 12-16 (z near 6) while every other work the window hit aligns 0-17.
// Unrelated queries look the opposite way: measured on the public set,
// their best work's score stands out from the next work's by z at most
// 4.3 (z_crowd), and the two tests together (min of own z and z_crowd)
// never pass 4.3. So the score is also tested against the best other
// work's (at least MinAligned): z_crowd = (score - second) /
// sqrt(second + 1). Two tests passed at crowdZ each are worth one at the
// MinConfidence point: the decision statistic is max(z_own, min(z_own,
// z_crowd) + crowdBonus). A work registered twice, or two works in one
// window, leaves z_crowd low, and the own test decides alone.
const (
	crowdZ     = 5.0
	crowdBonus = 8.5 - crowdZ
)

// Variant correction. A window is aligned under one hypothesis, the
// identity, and then (when that found no strong match) under every
// variant of Params.Variants, 18 by default: the best unrelated z of the
// variant search is the best of many more tries, so it runs higher. A
// variant's alignment therefore needs confidenceVariantZ more than the
// identity's. Measured with 55-3500 Hz prints on the public set, every
// alignment logged, on three registered sets of 24 works with 1,220
// queries each and on the tests' set with 380: the best unrelated
// variant alignments reached z 8.2 and 8.7 (the latter, music by the
// composer of a registered work, at tempo 0.895), the best unrelated
// identity alignments 7.9. True matches under noise or another song are
// found at the identity, and true matches of clean queries played 5 %
// fast or slow, tempo-changed or pitch-shifted align at z 14 or more. At
// +1.0 no unrelated alignment came within 0.8 of the bar, and one true
// match in 3,660 (another song mixed in at 0 dB) was lost.
const confidenceVariantZ = 1.0

// confidenceOf maps a score, its own background and the best other
// work's score in the window (second) to a confidence in [0, 1], given
// the fewest aligned hashes a segment needs, how many works the window's
// hashes hit, and whether the alignment was found under a variant rather
// than the identity.
func confidenceOf(score int, background float64, second, minAligned, works int, variant bool) float64 {
	z := (float64(score) - background) / math.Sqrt(background+1)
	g := float64(max(second, minAligned))
	zc := (float64(score) - g) / math.Sqrt(g+1)
	z = max(z, min(z, zc)+crowdBonus)
	z0 := confidenceZ0
	if works > confidenceBaseWorks {
		z0 += confidencePerLogWorks * math.Log(float64(works)/confidenceBaseWorks)
	}
	if variant {
		z0 += confidenceVariantZ
	}
	return 1 / (1 + math.Exp(-confidenceSlope*(z-z0)))
}

// background estimates how many distinct hashes an unrelated offset
// aligns for this work: the mean count of the offset windows ranked
// backgroundFrom to backgroundTo (the best few may be true repeats of the
// matched passage, which looped or repeated music legitimately has). offs
// holds the offsets of every hit of the work's alignment at its slope,
// sorted.
func (m *Matcher) background(offs []offPair) float64 {
	counts := tileCounts(offs, float64(m.p.OffsetToleranceFrames))
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

// tileCounts returns the number of distinct hash values in each window of
// width tol of offs (sorted by offset), windows tiled from the first
// offset on, each starting at the first offset past the previous one.
func tileCounts(offs []offPair, tol float64) []int {
	var counts []int
	ids := 0
	for _, o := range offs {
		ids = max(ids, int(o.key())+1)
	}
	seen := make([]bool, ids) // by hash id; cleared per window
	var inWindow []uint32
	start := math.Inf(-1)
	for _, o := range offs {
		if o.offset() >= start+tol {
			if len(inWindow) > 0 {
				counts = append(counts, len(inWindow))
			}
			for _, k := range inWindow {
				seen[k] = false
			}
			inWindow = inWindow[:0]
			start = o.offset()
		}
		if k := o.key(); !seen[k] {
			seen[k] = true
			inWindow = append(inWindow, k)
		}
	}
	if len(inWindow) > 0 {
		counts = append(counts, len(inWindow))
	}
	return counts
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
