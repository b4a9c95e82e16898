package match

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// The invariant search finds works in a window whose speed, tempo or pitch
// was changed, by keys such a change leaves unchanged
// (fingerprint.QueryTriplets), in four steps:
//
//  1. The window's triplets are looked up once: every hit gives the speed
//     (the reference's span over the query's), and with it the offset of
//     the window's start in the reference.
//  2. Hits vote on (work, speed bin, offset bin); a work's score is its
//     best 3 x 3 block of bins. The vote's memory and time are
//     proportional to the hits, not to the store.
//  3. The best-voted works' own triplets (from their forward prints)
//     are joined with the query's. Of the hits near the voted bins, the
//     largest group agreeing on the pitch shift (the matched anchors'
//     pitch difference) gives the change: that shift, the median span
//     ratio and the slope of reference time against query time (and
//     speeds between the two when they differ). The works whose groups
//     are largest are aligned.
//  4. Each work is aligned with the pair hashes under its recovered
//     change (align.go) and decided as any variant alignment is
//     (decide.go, confidenceVariantZ), against every registered work.
//
// The speed is whatever the hits say within fingerprint.TripletMaxSpeed,
// and the pitch shift whatever the anchors say within maxPitchShift: this
// search tries no grid of hypotheses, and costs an unrelated query one
// lookup per key, as it does a related one.
const (
	// tripletSpeedBin is the width of a speed bin, in natural log of the
	// speed (3 %): a reference span is stored to half a frame, so a hit's
	// speed is within 2.5 % on a span of 10 frames, 1 % on 25.
	tripletSpeedBin = 0.03
	// tripletOffsetBin is the width of an offset bin, in frames (1 s): a
	// speed error of 3 % moves the offset of a hit 20 s into a window by
	// 19 frames.
	tripletOffsetBin = 32
	// minTripletVotes is the fewest hits a work's best block needs to be
	// aligned: unrelated works rarely gather two in one block.
	minTripletVotes = 4
	// tripletVoteCandidates: this many times MaxCandidates of the
	// best-voted works have their change recovered; the MaxCandidates
	// whose hits agree best are aligned.
	tripletVoteCandidates = 3
	// maxPitchShift bounds the pitch shift recovered, in semitones (an
	// octave). A query shifted by s semitones loses, in the alignment, the
	// anchors that s moves out of the band (the pair hashes' anchor field
	// keeps room for 2 either way): a few of the six octaves' peaks. How
	// many candidates are aligned does not depend on the bound, so neither
	// does the chance of an unrelated match. Measured on the public set
	// (10 s queries): 0.92 at ±9 semitones, 0.62 at +12.
	maxPitchShift = 12
	// tripletPitchWindow is the width of the group of pitch shifts the
	// hits of one change fall in, in semitones: anchor pitches jitter by
	// a twentieth of a semitone, and a bass anchor (coarse pitch) by more.
	tripletPitchWindow = 0.5
	// tripletSlopeMinFrames: hits spread over at least this many query
	// frames (2 s) give a slope of reference time against query time.
	tripletSlopeMinFrames = 62
	// identitySpeedTol and identityPitchTol: a recovered change this close
	// to none was already searched by the identity search.
	identitySpeedTol = 0.004
	identityPitchTol = 0.15
)

// tripletVote is one hit packed for sorting: work, speed bin, offset bin.
type tripletVote = uint64

func packTripletVote(work uint32, speedBin, offsetBin int) tripletVote {
	return uint64(work)<<32 | uint64(uint8(speedBin+128))<<24 | uint64(uint32(offsetBin+1<<23)&0xffffff)
}

func unpackTripletVote(v tripletVote) (work uint32, speedBin, offsetBin int) {
	return uint32(v >> 32), int(uint8(v>>24)) - 128, int(v&0xffffff) - 1<<23
}

// tripletCandidate is a work the triplet vote found, with its voted speed
// and offset bins, then its recovered change.
type tripletCandidate struct {
	num              uint32
	votes            int
	speedBin, offBin int
	variants         []fingerprint.Variant // recovered: span ratio, then slope
	agree            int                   // hits agreeing on the variant
}

// searchInvariant runs the invariant search of a window (see above).
//
// The works the triplet vote ranked (gridMinTripletVotes or more in their
// best block, at most MaxCandidates, best first) are appended to *voted
// when voted is not nil, whether they aligned or not: the targeted grid
// (grid.go) tries them under the variants.
func (m *Matcher) searchInvariant(ctx context.Context, peaks []fingerprint.Peak, voted *[]uint32) ([]windowHit, error) {
	var qs []fingerprint.Triplet // one per key looked up
	m.fp.QueryTriplets(peaks, func(t fingerprint.Triplet) { qs = append(qs, t) })
	if len(qs) == 0 {
		return nil, nil
	}
	slices.SortFunc(qs, func(x, y fingerprint.Triplet) int { return cmp.Compare(x.Key, y.Key) })
	var uniq []uint32
	var uniqPos []int
	for i, q := range qs {
		if i == 0 || q.Key != qs[i-1].Key {
			uniq = append(uniq, q.Key)
			uniqPos = append(uniqPos, i)
		}
	}
	uniqPos = append(uniqPos, len(qs))

	// Steps 1 and 2: look up and vote.
	maxNum := m.store.MaxLive()
	minLog, maxLog := -math.Log(fingerprint.TripletMaxSpeed)-tripletSpeedBin, math.Log(fingerprint.TripletMaxSpeed)+tripletSpeedBin
	var votes []tripletVote
	cur, read := 0, 0
	dropped, droppedPostings := 0, 0
	err := m.store.Postings(ctx, uniq, func(key uint32, it *index.PostingsIter) {
		if n := it.Size(); m.p.MaxKeyPostings > 0 && n > m.p.MaxKeyPostings {
			dropped++
			droppedPostings += n
			return // a stop key (Params.MaxKeyPostings)
		}
		for cur < len(uniq) && uniq[cur] < key {
			cur++
		}
		if cur == len(uniq) || uniq[cur] != key {
			return
		}
		entries := qs[uniqPos[cur]:uniqPos[cur+1]]
		for it.Next() {
			w, ts := it.At()
			read += len(ts)
			if w > maxNum {
				continue
			}
			for _, packed := range ts {
				anchor, span := fingerprint.SplitTripletTime(packed)
				for _, q := range entries {
					ls := math.Log(float64(span) / float64(q.Span))
					if ls < minLog || ls > maxLog {
						continue
					}
					off := float64(anchor) - math.Exp(ls)*float64(q.Time)
					votes = append(votes, packTripletVote(w, int(math.Floor(ls/tripletSpeedBin)), int(math.Floor(off/tripletOffsetBin))))
				}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("match: triplet postings: %w", err)
	}
	countRead(ctx, len(uniq), read)
	countDropped(ctx, dropped, droppedPostings)
	cands := bestTripletBlocks(votes, tripletVoteCandidates*m.p.MaxCandidates, min(gridMinTripletVotes, minTripletVotes))
	if voted != nil {
		for _, c := range cands[:min(len(cands), m.p.MaxCandidates)] {
			*voted = append(*voted, c.num)
		}
	}
	cands = slices.DeleteFunc(cands, func(c tripletCandidate) bool { return c.votes < minTripletVotes })
	m.log.Debug("triplet vote", "keys", len(uniq), "votes", len(votes), "candidates", len(cands))
	if len(cands) == 0 {
		return nil, nil
	}

	// Step 3: recover each candidate's change from its own triplets.
	var variants []fingerprint.Variant
	var alignCands []*candidate
	var recovered []tripletCandidate
	for i := range cands {
		c := &cands[i]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref, err := m.refTriplets(c.num)
		if err != nil {
			m.log.Debug("candidate vanished", "work_num", c.num, "err", err)
			continue
		}
		v, agree := recoverChange(qs, ref, c.speedBin, c.offBin)
		if agree < minTripletVotes {
			continue
		}
		v = slices.DeleteFunc(v, func(v fingerprint.Variant) bool {
			return math.Abs(v.TimeScale-1) < identitySpeedTol && math.Abs(v.PitchShift) < identityPitchTol // the identity search covered it
		})
		if len(v) == 0 {
			continue
		}
		c.variants, c.agree = v, agree
		recovered = append(recovered, *c)
		m.log.Debug("triplet candidate", "work_num", c.num, "votes", c.votes, "agree", agree, "speed", v[0].TimeScale, "pitch", -v[0].PitchShift, "variants", v)
	}
	// The works whose hits agree best on one change are aligned.
	slices.SortStableFunc(recovered, func(x, y tripletCandidate) int { return cmp.Compare(y.agree, x.agree) })
	for _, c := range recovered[:min(len(recovered), m.p.MaxCandidates)] {
		ac := &candidate{num: c.num, best: int32(c.agree)}
		for _, v := range c.variants {
			vi := slices.Index(variants, v)
			if vi < 0 {
				vi = len(variants)
				variants = append(variants, v)
			}
			ac.variants = append(ac.variants, uint16(vi))
		}
		alignCands = append(alignCands, ac)
	}
	if len(alignCands) == 0 {
		return nil, nil
	}

	// Step 4: align under the recovered changes and decide.
	sc := m.getScratch()
	defer m.putScratch(sc)
	q := m.hashQuery(sc, peaks, variants, 1)
	defer q.release(sc)
	if len(q.entries) == 0 {
		return nil, nil
	}
	hits, err := m.alignCandidates(ctx, sc, q, alignCands, nil, variants)
	if err != nil {
		return nil, err
	}
	return m.decide(hits, int(m.store.Live()), variants), nil
}

// bestTripletBlocks sorts the votes and returns the works whose best 3 x 3
// block of (speed, offset) bins holds minVotes or more, best first, at
// most n, each with the block's centre.
func bestTripletBlocks(votes []tripletVote, n, minVotes int) []tripletCandidate {
	if len(votes) == 0 {
		return nil
	}
	slices.Sort(votes)
	// Runs of equal votes: (bin, count), by work, speed bin, offset bin.
	type run struct {
		v     tripletVote
		count int
	}
	var runs []run
	for i, v := range votes {
		if i > 0 && v == votes[i-1] {
			runs[len(runs)-1].count++
			continue
		}
		runs = append(runs, run{v: v, count: 1})
	}
	var out []tripletCandidate
	for start := 0; start < len(runs); {
		w, _, _ := unpackTripletVote(runs[start].v)
		end, total := start, 0
		for end < len(runs) {
			if ww, _, _ := unpackTripletVote(runs[end].v); ww != w {
				break
			}
			total += runs[end].count
			end++
		}
		best := tripletCandidate{num: w}
		if total >= minVotes {
			// A block's three rows (speed bins s-1, s, s+1) are each a
			// run of consecutive votes, which moves forward as (s, o)
			// does: one cursor a row makes the blocks of all the work's
			// runs linear in them (a binary search per cell cost a
			// 1,000-hour store's negatives 40 % of their time).
			cur := [3]int{start, start, start}
			for _, r := range runs[start:end] {
				_, s, o := unpackTripletVote(r.v)
				sum := 0
				for k := range cur {
					lo, hi := packTripletVote(w, s+k-1, o-1), packTripletVote(w, s+k-1, o+1)
					p := cur[k]
					for p < end && runs[p].v < lo {
						p++
					}
					cur[k] = p
					for ; p < end && runs[p].v <= hi; p++ {
						sum += runs[p].count
					}
				}
				if sum > best.votes {
					best.votes, best.speedBin, best.offBin = sum, s, o
				}
			}
		}
		if best.votes >= minVotes {
			out = append(out, best)
		}
		start = end
	}
	slices.SortFunc(out, func(x, y tripletCandidate) int {
		return cmp.Or(cmp.Compare(y.votes, x.votes), cmp.Compare(x.num, y.num))
	})
	return out[:min(len(out), n)]
}

// recoverChange joins the query's triplets (sorted by key) with a
// reference's (sorted by key) and returns the change the hits near the
// voted bins agree on, and how many agree: the hits are grouped by pitch
// shift (reference anchor pitch minus query anchor pitch, which every hit
// of the true change shares and unrelated music scatters), and the
// largest group within tripletPitchWindow gives the median speed (span
// ratio) and pitch shift.
func recoverChange(qs, ref []fingerprint.Triplet, speedBin, offBin int) ([]fingerprint.Variant, int) {
	type match struct{ ls, pitch, tq, tr float64 }
	var ms []match
	j := 0
	for i := 0; i < len(qs); {
		k := qs[i].Key
		e := i
		for e < len(qs) && qs[e].Key == k {
			e++
		}
		for j < len(ref) && ref[j].Key < k {
			j++
		}
		for r := j; r < len(ref) && ref[r].Key == k; r++ {
			for _, q := range qs[i:e] {
				ls := math.Log(float64(ref[r].Span) / float64(q.Span))
				if math.Abs(ls/tripletSpeedBin-(float64(speedBin)+0.5)) > 2 {
					continue
				}
				off := float64(ref[r].Time) - math.Exp(ls)*float64(q.Time)
				if math.Abs(off/tripletOffsetBin-(float64(offBin)+0.5)) > 2 {
					continue
				}
				if p := float64(ref[r].Pitch - q.Pitch); math.Abs(p) <= maxPitchShift {
					ms = append(ms, match{ls, p, float64(q.Time), float64(ref[r].Time)})
				}
			}
		}
		i = e
	}
	if len(ms) < minTripletVotes {
		return nil, 0
	}
	slices.SortFunc(ms, func(x, y match) int { return cmp.Compare(x.pitch, y.pitch) })
	// The densest window of pitch shifts.
	best, bestLo := 0, 0
	for lo, hi := 0, 0; hi < len(ms); hi++ {
		for ms[hi].pitch-ms[lo].pitch > tripletPitchWindow {
			lo++
		}
		if n := hi - lo + 1; n > best {
			best, bestLo = n, lo
		}
	}
	if best < minTripletVotes {
		return nil, best
	}
	group := ms[bestLo : bestLo+best]
	speeds, pitches := make([]float64, best), make([]float64, best)
	for i, m := range group {
		speeds[i], pitches[i] = m.ls, m.pitch
	}
	p := math.Round(median(pitches)*20) / 20
	// Round so that windows of one query recovering nearly the same
	// change share one variant.
	vs := []fingerprint.Variant{{TimeScale: math.Round(math.Exp(median(speeds))*1000) / 1000, PitchShift: p}}
	// The slope of reference time against query time, when the hits
	// spread over tripletSlopeMinFrames or more: a time stretch that keeps
	// short stretches of sound as they were (FFmpeg's atempo) leaves the
	// spans of a triplet nearly unscaled, but not the distance between
	// its hits.
	if first, last := slices.MinFunc(group, func(x, y match) int { return cmp.Compare(x.tq, y.tq) }),
		slices.MaxFunc(group, func(x, y match) int { return cmp.Compare(x.tq, y.tq) }); last.tq-first.tq >= tripletSlopeMinFrames {
		var slopes []float64
		for i, a := range group {
			for _, b := range group[i+1:] {
				if dq := b.tq - a.tq; math.Abs(dq) >= tripletSlopeMinFrames/4 {
					slopes = append(slopes, (b.tr-a.tr)/dq)
				}
			}
		}
		if len(slopes) > 0 {
			// Both estimates err on a stretched query, the spans towards 1
			// and the slope, from few hits, either way: the speeds between
			// them are tried too, spaced by the alignment's refinement
			// range, up to maxVariantsPerCandidate in all.
			s0, s1 := vs[0].TimeScale, median(slopes)
			if s1 > 0 {
				step := 2 * slopeSteps * slopeStep
				n := min(maxVariantsPerCandidate-1, int(math.Abs(math.Log(s1/s0))/step+0.5))
				for i := 1; i <= n; i++ {
					s := math.Exp(math.Log(s0) + float64(i)/float64(n)*math.Log(s1/s0))
					vs = append(vs, fingerprint.Variant{TimeScale: math.Round(s*1000) / 1000, PitchShift: p})
				}
			}
		}
	}
	return vs, best
}

// median returns the median of xs (reordering them).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
