package match

import (
	"context"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// alignCandidates aligns the candidates (step 5 of a search, package
// doc): each one's query hashes joined with its landmarks (refs, else the
// stored print) and aligned by align, MaxCandidates at a time.
func (m *Matcher) alignCandidates(ctx context.Context, sc *scratch, q query, cands []*candidate, refs map[uint32]*refPrint,
	variants []fingerprint.Variant) ([]windowHit, error) {
	partial := refs
	byVariant := groupByVariant(q.entries, len(variants))

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
	return out, nil
}

// groupByVariant returns the entries of each of n variants, each list
// still sorted by hash.
func groupByVariant(entries []entry, n int) [][]entry {
	byVariant := make([][]entry, n)
	for _, e := range entries {
		byVariant[e.variant] = append(byVariant[e.variant], e)
	}
	return byVariant
}

// hit is one query entry matched with one reference landmark.
type hit struct {
	qframe float32 // query anchor time, frames
	sframe float32 // query anchor time scaled by the variant's time scale
	rframe float32 // reference anchor time, frames
	// idDt packs the hash's number in its join (see joinHits; the low
	// hitIDBits) and the pair's anchor-to-target time in frames at the
	// variant's scale (the high bits), which keeps a hit 16 bytes.
	idDt uint32
}

// hitIDBits bounds the distinct hashes of one join (2^26, far above a
// window's few thousand).
const hitIDBits = 26

func (h hit) id() uint32 { return h.idDt & (1<<hitIDBits - 1) }

// targetFrame is the query time of the hit's target peak.
func (h hit) targetFrame() float32 {
	dt := float32(h.idDt >> hitIDBits)
	if h.sframe > 0 {
		dt *= h.qframe / h.sframe // back to the query's own time scale
	}
	return h.qframe + dt
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
	// anchors are the window's peak times in query frames, in order (set
	// by hashQuery): every time a query hash can be anchored at.
	anchors []float32
}

func (m *Matcher) align(num uint32, ref *refPrint, byVariant [][]entry, tryVariants []uint16,
	variants []fingerprint.Variant, as *alignScratch) (windowHit, bool) {
	var bestHit windowHit
	var bestHits []hit  // the hits the best alignment was scored on
	var bestOff float64 // and its offset window's start
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
		bestHit = windowHit{
			num: num, a: v.TimeScale * f, b: off + tol/2, pitch: -v.PitchShift,
			score: score, pairsInRange: len(hits), variant: vi, slope: f,
		}
		bestHits, bestOff = hits, off
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
	bestHit.first, bestHit.last, bestHit.run = alignedExtent(bestHits, as.anchors, bestHit.slope, bestOff, tol)
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
	for _, off := range alternatives(offs, tol, bestHit.score, &as.seen) {
		bestHit.alsoAt = append(bestHit.alsoAt, bestHit.b+off)
	}
	return bestHit, true
}

// alsoAtFraction: another offset of the same work whose alignment reaches
// this share of the best one's score is reported beside it (Segment.AlsoAt):
// the passage is repeated there. A true repeat of a chorus or a loop
// aligns 80-100 % of the best occurrence's hashes (the parts sung or
// mixed differently are the rest); the best unrelated offsets of a work
// stay near the background, far below any confident score.
const alsoAtFraction = 0.8

// maxAlsoAt bounds the repeats reported for one segment.
const maxAlsoAt = 8

// alternatives returns, relative to the best window of offs (sorted, at
// the winning slope), the offsets of other windows of width tol aligning
// at least alsoAtFraction of score distinct hashes, at least
// mergeToleranceFrames from the best and from each other, by decreasing
// score, at most maxAlsoAt. seen is densest's scratch.
func alternatives(offs []offPair, tol float64, score int, seen *[]int32) []float64 {
	need := int(math.Ceil(alsoAtFraction * float64(score)))
	if need < 1 || len(offs) < need {
		return nil
	}
	var found []float64 // absolute window starts, the best first
	rest := offs
	for len(found) <= maxAlsoAt {
		n, off, s := densest(rest, tol, *seen)
		*seen = s
		if len(found) > 0 && n < need {
			break
		}
		found = append(found, off)
		// Drop the window's neighbourhood: what remains can only align
		// elsewhere.
		kept := make([]offPair, 0, len(rest))
		for _, o := range rest {
			if math.Abs(o.offset()-off) > mergeToleranceFrames {
				kept = append(kept, o)
			}
		}
		if len(kept) == len(rest) {
			break
		}
		rest = kept
	}
	var out []float64
	for _, off := range found[1:] {
		out = append(out, off-found[0])
	}
	return out
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
					dst = append(dst, hit{qframe: q[i].qframe, sframe: q[i].frame, rframe: r.Time,
						idDt: id | uint32(fingerprint.HashDeltaFrames(h))<<hitIDBits})
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
		dst = append(dst, packOffset(float64(h.rframe)-float64(h.sframe)*slope, h.id()))
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

// maxGapFrames is the longest gap (1.5 s) between aligned
// anchors within one segment: peaks are dense in music, so a longer gap
// means the work stopped.
const maxGapFrames = 47

// alignedExtent returns the query times (frames) where the work starts
// and ends among the aligned hits: in runs of anchors at most
// maxGapFrames apart. A few unrelated hits fall on the aligned offset by
// chance anywhere in the window; taking the dense runs keeps them from
// stretching the segment.
//
// Within the run, a hit vouches for its anchor only as far as its target
// is near, and for its target only as far as its anchor is near
// (vouchFrames). Before a work, other music that holds a note the work's
// print has at that instant gives a chance anchor whose whole fan-out of
// real targets in the work matches: several hits at the right offset, up
// to MaxDeltaFrames early. Its targets are where the work is. After the
// work, the last real anchors' targets are where it still plays, unless
// a chance peak of what follows stands in for one. The edges are the
// first and last of these vouched times, of the anchors left when strays
// are trimmed, less vouched times that are strays themselves (edgeTimes).
// run is the span of the largest run alone: at a wrong slope, a tempo
// change leaves pieces aligned apart, which Matcher.final must see.
func alignedExtent(hits []hit, anchors []float32, slope, off, tol float64) (start, end, run float64) {
	aligned := func(h hit) bool {
		o := float64(h.rframe) - float64(h.sframe)*slope
		return o >= off && o <= off+tol
	}
	var qs []float64
	for _, h := range hits {
		if aligned(h) {
			qs = append(qs, float64(h.qframe))
		}
	}
	if len(qs) == 0 {
		return 0, 0, 0
	}
	qs = distinctTimes(qs)
	// The runs of anchors no more than maxGapFrames apart. The segment is
	// the largest run joined with the other runs of at least minRun
	// anchors at least joinDensity as dense, with whatever lies between
	// them: the work under a loud passage of something else, or quiet in
	// noise, can leave a gap longer than maxGapFrames, but its own anchors
	// keep coming at a density close to the rest of it. Music that
	// resembles the work (the next track of the same album, say) can
	// leave a run of minRun chance anchors on its offset, several times
	// sparser.
	type span struct{ lo, hi int }
	var runs []span
	best := -1
	lo := 0
	for i := 1; i <= len(qs); i++ {
		if i == len(qs) || qs[i]-qs[i-1] > maxGapFrames {
			runs = append(runs, span{lo, i - 1})
			if best < 0 || i-lo > runs[best].hi-runs[best].lo+1 {
				best = len(runs) - 1
			}
			lo = i
		}
	}
	density := func(r span) float64 { return float64(r.hi-r.lo+1) / max(qs[r.hi]-qs[r.lo], 1) }
	bestLo, bestHi := runs[best].lo, runs[best].hi
	runLo, runHi := len(qs), -1
	if bestHi-bestLo+1 >= minRun {
		floor := joinDensity * density(runs[best])
		for _, r := range runs {
			if r.hi-r.lo+1 >= minRun && density(r) >= floor {
				runLo, runHi = min(runLo, r.lo), max(runHi, r.hi)
			}
		}
	}
	lo0, hi0 := edgeTimes(qs[bestLo : bestHi+1])
	run = hi0 - lo0
	if runHi >= 0 {
		bestLo, bestHi = runLo, runHi
	}
	first, last := edgeTimes(qs[bestLo : bestHi+1])
	first, last = chanceEnds(qs, anchors, first, last)
	var starts, ends []float64
	for _, h := range hits {
		if q := float64(h.qframe); aligned(h) && q >= first && q <= last {
			t := float64(h.targetFrame())
			starts = append(starts, max(q, t-vouchFrames))
			ends = append(ends, min(t, q+vouchFrames))
		}
	}
	start, _ = edgeTimes(distinctTimes(starts))
	_, end = edgeTimes(distinctTimes(ends))
	return start, end, run
}

// distinctTimes sorts ts and keeps one time per anchor (times at least
// half a frame apart): an anchor's several matching hashes would make a
// stray anchor look like a dense run.
func distinctTimes(ts []float64) []float64 {
	slices.Sort(ts)
	kept := ts[:1]
	for _, t := range ts[1:] {
		if t-kept[len(kept)-1] >= 0.5 {
			kept = append(kept, t)
		}
	}
	return kept
}

// edgeTimes returns the first and last of ts (sorted) once strays are
// trimmed off both ends: at most maxStray times set apart by more than
// isolatedFrames from a run of at least minRun times.
func edgeTimes(ts []float64) (float64, float64) {
	lo, hi := 0, len(ts)-1
	for {
		i := lo + 1
		for i <= hi && ts[i]-ts[i-1] <= isolatedFrames {
			i++
		}
		if i-lo > maxStray || hi-i < minRun {
			break
		}
		lo = i
	}
	for {
		i := hi - 1
		for i >= lo && ts[i+1]-ts[i] <= isolatedFrames {
			i--
		}
		if hi-i > maxStray || i-lo < minRun {
			break
		}
		hi = i
	}
	return ts[lo], ts[hi]
}

// chanceEnds moves the edges first and last (times of qs, sorted
// distinct aligned anchor times) inwards past chance anchors: at either
// end, the outermost k <= maxStray anchors are chance when the share of
// the query's anchors (anchors, sorted) they make up between them and the
// next one in is below chanceShare of the share aligned over the
// shareFrames before that. Music cut straight into another track of its
// album can align a few anchors a second on the work's offset after the
// cut, close enough together not to be strays: a tenth of what the query
// plays there, where the work itself aligned half of its anchors. Where
// the work is quiet or under noise, few anchors align but few others are
// there either, and the share holds. Without anchors (a caller that has
// none) nothing moves.
func chanceEnds(qs []float64, anchors []float32, first, last float64) (float64, float64) {
	if len(anchors) == 0 {
		return first, last
	}
	lo, _ := slices.BinarySearch(qs, first)
	hi, _ := slices.BinarySearch(qs, last)
	count := func(xs []float64, a, b float64) int { // in (a, b]
		i, _ := slices.BinarySearch(xs, math.Nextafter(a, math.Inf(1)))
		j, _ := slices.BinarySearch(xs, math.Nextafter(b, math.Inf(1)))
		return j - i
	}
	countA := func(a, b float64) int { // anchors in (a, b]
		i, _ := slices.BinarySearch(anchors, float32(math.Nextafter(a, math.Inf(1))))
		j, _ := slices.BinarySearch(anchors, float32(math.Nextafter(b, math.Inf(1))))
		return j - i
	}
	share := func(n, of int) float64 { return float64(n) / float64(max(of, 1)) }
	// The end: the last k anchors against the shareFrames before them.
	for k := maxStray; k >= 1; k-- {
		if hi-k-lo+1 < minRun {
			continue
		}
		b := qs[hi-k]
		tail := share(k, countA(b, qs[hi]))
		body := share(count(qs[lo:hi+1], b-shareFrames, b), countA(b-shareFrames, b))
		if tail < chanceShare*body {
			hi -= k
			break
		}
	}
	// The start, the same way.
	for k := maxStray; k >= 1; k-- {
		if hi-lo-k+1 < minRun {
			continue
		}
		b := qs[lo+k]
		head := share(k, countA(qs[lo]-0.5, b-0.5))
		body := share(count(qs[lo:hi+1], b-0.5, b+shareFrames-0.5), countA(b-0.5, b+shareFrames-0.5))
		if head < chanceShare*body {
			lo += k
			break
		}
	}
	return qs[lo], qs[hi]
}

// chanceShare: anchors at an edge aligning less than this share of what
// the stretch next to them aligns are chance (chanceEnds). After a cut
// into related music, the chance anchors that stood as the end made up
// a tenth of the query's anchors, against a third to two thirds aligned
// in the work before them (0.13 of that share); the worst-aligned true
// ending seen (a 64 kb/s AAC) made up 0.28 of it.
const chanceShare = 0.25

// shareFrames (3 s) is the stretch next to an edge whose aligned share
// the edge's anchors are held to.
const shareFrames = 94

// vouchFrames (0.5 s) is how far from its target a hit's anchor counts
// as part of the work, and from its anchor its target: a true first
// anchor has targets in the near sub-zones of its fan-out, a true last
// target an anchor close before it; a chance one moves an edge by at
// most this.
const vouchFrames = 16

// isolatedFrames, maxStray, minRun: at most maxStray aligned anchors set
// apart by more than isolatedFrames (0.5 s) at an end of a run of at
// least minRun are strays, not the segment's edge. In music the work's
// own aligned anchors come several a second; by chance, one or two in a
// second or two, and where the work is cut straight into related music
// (the next track of its album), three within a second after the cut,
// which ended uses 1.2-1.7 s late with two.
const (
	isolatedFrames = 16
	maxStray       = 3
	minRun         = 8
)

// joinDensity is the least density of aligned anchors, relative to the
// segment's largest run, of a run joined to it across a gap. A work's own
// runs keep most of its density even under noise or speech; what joined
// wrongly before this bound were runs of 8-11 anchors on the offset of
// the track before, inside the next track of the same album: about 0.07
// anchors a frame, where the work's own runs held 0.24-0.44 (the scan
// check, scripts/scan-bench.sh). 0.4 parts them there and changes nothing
// in the benchmark.
const joinDensity = 0.4

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
