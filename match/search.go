package match

import (
	"context"

	"github.com/cueprint/cueprint/fingerprint"
)

// search runs one search of a window under the given variants, pairing
// each anchor with its k strongest targets per sub-zone: the steps of the
// package doc, each in the file named after it. The works the vote ranked
// (at most MaxCandidates, best first) are appended to *voted when voted
// is not nil, whether they aligned or not.
func (m *Matcher) search(ctx context.Context, peaks []fingerprint.Peak, frames int, variants []fingerprint.Variant, k int, voted *[]uint32) ([]windowHit, error) {
	sc := m.getScratch()
	defer m.putScratch(sc)
	q := m.hashQuery(sc, peaks, variants, k)
	defer q.release(sc)
	if len(q.entries) == 0 {
		return nil, nil
	}
	b, err := m.vote(ctx, sc, q, len(variants))
	if err != nil {
		return nil, err
	}
	defer b.release(sc)
	cands := m.rank(b, len(variants))
	if voted != nil {
		for _, c := range cands[:min(len(cands), m.p.MaxCandidates)] {
			*voted = append(*voted, c.num)
		}
	}
	refs := m.collectLandmarks(q, b, cands)
	hits, err := m.alignCandidates(ctx, sc, q, cands, refs, variants)
	if err != nil {
		return nil, err
	}
	return m.decide(hits, b.worksSeen, variants), nil
}
