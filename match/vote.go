package match

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/index"
)

// ballot is the vote's outcome: per (work, variant) pair that collected
// votes, its best count of two adjacent offset bins; the postings the
// vote kept for the next steps (see collectLandmarks), or overflow when
// they were too many; and how many works the window's hashes hit.
type ballot struct {
	pairs     []uint64 // pair index -> pairKey(work, variant)
	pairBest  []int32  // pair index -> best adjacent-bin count
	kept      []uint32
	overflow  bool
	worksSeen int
	// dropped: some keys were stop keys (Params.MaxKeyPostings), so the
	// kept postings lack the candidates' landmarks under them.
	dropped bool
}

// release gives b's kept postings buffer back to sc.
func (b ballot) release(sc *scratch) {
	if b.kept != nil {
		sc.kept = b.kept[:0]
	}
}

// vote looks the query's hashes up in the postings (step 2 of a search,
// package doc): every hit a vote for (work, variant, offset bin).
func (m *Matcher) vote(ctx context.Context, sc *scratch, q query, nv int) (ballot, error) {
	entries, uniq, uniqPos := q.entries, q.uniq, q.uniqPos
	// Vote on (work, variant, coarse offset): Wang's offset histogram,
	// straight from the postings' anchor times. In two passes, so that
	// memory stays bounded however dense the store: the first counts hits
	// per (work, variant) in a table that holds only the pairs hit
	// (hitCounts), keeping the lists; the second collects offset bins
	// only for the pairs with the most hits (see votePairs), writes them
	// into one array and counts them per pair. A map of every (work,
	// variant, bin) hit took gigabytes on a store of 100,000 works.
	maxNum := m.store.MaxLive()
	counts := &sc.counts
	counts.reset()
	maxList := m.p.MaxKeyPostings
	dropped, droppedPostings := 0, 0
	// readPostings calls fn with every postings list of the distinct
	// hashes and the hash's index in uniq. The store reports hashes in
	// ascending order, so a cursor walks uniq once; a hash behind it (a
	// store that ever reports otherwise) is found by binary search.
	// A list longer than Params.MaxKeyPostings is a stop key: skipped,
	// and counted once.
	reread := false
	readPostings := func(fn func(u int, it *index.PostingsIter)) error {
		defer func() { reread = true }()
		cur := 0
		err := m.store.Postings(ctx, uniq, func(hash uint32, it *index.PostingsIter) {
			if maxList > 0 && it.Size() > maxList {
				if !reread {
					dropped++
					droppedPostings += it.Size()
				}
				return
			}
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
	overflow := false
	read := 0
	if err := readPostings(func(u int, it *index.PostingsIter) {
		pos, end := uniqPos[u], uniqPos[u+1]
		head := len(kept)
		if !overflow {
			kept = append(kept, uint32(u), 0)
		}
		for it.Next() {
			w, ts := it.At()
			read += len(ts)
			if w > maxNum {
				continue // registered after the search began
			}
			if !overflow {
				kept[head+1]++
				kept = append(kept, w, uint32(len(ts)))
				kept = append(kept, ts...)
			}
			n := len(ts)
			for _, e := range entries[pos:end] {
				counts.add(pairKey(w, e.variant), n)
			}
		}
		if len(kept) > m.keptWords {
			kept, overflow = nil, true
		}
	}); err != nil {
		return ballot{kept: kept}, err
	}
	countRead(ctx, len(uniq), read)
	countDropped(ctx, dropped, droppedPostings)
	threshold, worksSeen := voteThreshold(counts, m.p.MinAligned)
	// From here on a pair's counter holds its index plus one when it
	// collects votes, 0 when it does not: votePairs fits the counters.
	// Past math.MaxUint16-1 qualifying pairs (only when more than that
	// many share the histogram's top bucket, see voteThreshold) the rest
	// are not voted on. A pair's hit count is its number of votes, so
	// each pair's slice of the vote array is known before voting, unless
	// its counter saturated. Pairs are taken in (work, variant) order, so
	// that ties rank the same whatever the table's layout.
	var pairs []uint64 // pair index -> pairKey(work, variant)
	counts.each(func(k uint64, c *uint16) {
		if int(*c) >= threshold {
			pairs = append(pairs, k)
		} else {
			*c = 0
		}
	})
	slices.Sort(pairs)
	for _, k := range pairs[min(len(pairs), math.MaxUint16-1):] {
		counts.vals[counts.slot(k)] = 0
	}
	pairs = pairs[:min(len(pairs), math.MaxUint16-1)]
	start := make([]int, 0, len(pairs)+1) // pair index -> first vote; start[len(pairs)] = all votes
	saturated := false
	for i, k := range pairs {
		i0 := counts.slot(k)
		saturated = saturated || counts.vals[i0] == math.MaxUint16
		start = append(start, int(counts.vals[i0]))
		counts.vals[i0] = uint16(i + 1)
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
			for _, e := range entries[pos:end] {
				if pi := counts.get(pairKey(w, e.variant)); pi != 0 {
					start[pi-1] += len(ts)
				}
			}
		}); err != nil {
			return ballot{kept: kept}, err
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
		for _, e := range entries[pos:end] {
			pi := int(counts.get(pairKey(w, e.variant)))
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
		return ballot{kept: kept}, err
	}
	pairBest := bestAdjacentBins(bins, start, next)

	return ballot{pairs: pairs, pairBest: pairBest, kept: kept, overflow: overflow, worksSeen: worksSeen, dropped: dropped > 0}, nil
}

// voteBinFrames is the width of the coarse offset bins of the first
// stage (16 frames, 0.5 s); two adjacent bins are scored together, so an
// offset drifting by up to a bin over a window (a residual speed error of
// 2.5 % over 20 s) still gathers its votes.
const voteBinFrames = 16

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
func voteThreshold(counts *hitCounts, minAligned int) (threshold, works int) {
	var hist [1024]int
	var seen hitCounts
	seen.reset()
	counts.each(func(k uint64, c *uint16) {
		if *c == 0 {
			return
		}
		hist[min(int(*c), len(hist)-1)]++
		w, _ := splitPairKey(k)
		if seen.get(uint64(w)) == 0 {
			seen.add(uint64(w), 1)
			works++
		}
	})
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
