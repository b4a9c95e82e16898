package match

import (
	"slices"
)

// candidate is a work to align: its best vote and the variants (at most
// maxVariantsPerCandidate) that scored at least half of it.
type candidate struct {
	num      uint32
	best     int32
	variants []uint16
}

// rank ranks the voted (work, variant) pairs by their best pair of
// adjacent offset bins and groups them by work, best first (step 3 of a
// search, package doc).
func (m *Matcher) rank(b ballot, nv int) []*candidate {
	pairBest, pairs := b.pairBest, b.pairs
	// Rank (work, variant) by the best pair of adjacent offset bins.
	type cand struct {
		num     uint32
		variant uint16
		score   int32
	}
	var ranked []cand
	for pi, s := range pairBest {
		if int(s) >= m.p.MinAligned {
			num, variant := splitPairKey(pairs[pi])
			ranked = append(ranked, cand{num: num, variant: variant, score: s})
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
	// Keep the best works (MaxCandidates a batch, see alignCandidates),
	// each with its variants scoring at least half its best.
	var cands []*candidate
	byNum := map[uint32]*candidate{}
	for _, c := range ranked {
		wc := byNum[c.num]
		if wc == nil {
			if len(cands) == maxCandidatesExtended(m.p.MaxCandidates) {
				continue
			}
			wc = &candidate{num: c.num, best: c.score}
			byNum[c.num] = wc
			cands = append(cands, wc)
		}
		if 2*c.score >= wc.best && len(wc.variants) < maxVariantsPerCandidate {
			wc.variants = append(wc.variants, c.variant)
		}
	}
	return cands
}

// maxCandidatesExtended bounds the candidates aligned when batch after
// batch of MaxCandidates aligns (see search): 16 batches, so a query
// costs at most 16 times the alignment of a normal one, whatever a
// catalogue's duplicates.
func maxCandidatesExtended(maxCandidates int) int { return 16 * maxCandidates }

// maxVariantsPerCandidate bounds how many variants are aligned per work.
const maxVariantsPerCandidate = 4
