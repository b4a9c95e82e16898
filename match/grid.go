package match

import (
	"context"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// The targeted grid: the last step of a window's search, for the changes
// the invariant search cannot recover because too few triplets survive
// (short queries transposed or time-stretched by a few percent, whose
// pairs still align under a nearby hypothesis). The works the earlier
// searches' votes ranked, aligned or not, are each aligned on their
// stored prints under the identity and every variant of Params.Variants;
// the index is not read again.
//
// Searching the whole index under every variant instead (what the grid
// did first) looked up each of a window's hashes under 19 hypotheses:
// a window no work matches (every unrelated query) paid for that on every
// store, some 130,000 lookups reading a sixth of a large index, 15 times
// what a related query costs. Aligning a bounded set of works costs the
// same on any store, and a related query's work is among them: the
// triplet vote counts keys that no speed or pitch change alters, so the
// true work gathers votes in one (speed, offset) block even when too few
// to recover the change from.

// gridMinTripletVotes is the fewest triplet votes in one block that put
// a work on the targeted grid's list (below minTripletVotes, which the
// invariant search needs to recover a change): unrelated works rarely
// gather two in one block among the few the vote ranks.
const gridMinTripletVotes = 2

// gridMaxWorks bounds the works the targeted grid aligns, in units of
// Params.MaxCandidates: the triplet vote's best, then the identity
// searches'.
const gridMaxWorks = 2

// searchGrid aligns each of the works nums (distinct, best first) under
// the identity and every variant, and decides (see above).
func (m *Matcher) searchGrid(ctx context.Context, peaks []fingerprint.Peak, nums []uint32) ([]windowHit, error) {
	if len(nums) == 0 {
		return nil, nil
	}
	variants := append([]fingerprint.Variant{{TimeScale: 1}}, m.p.Variants...)
	sc := m.getScratch()
	defer m.putScratch(sc)
	q := m.hashQuery(sc, peaks, variants, 1)
	defer q.release(sc)
	if len(q.entries) == 0 {
		return nil, nil
	}
	byVariant := groupByVariant(q.entries, len(variants))
	all := make([]uint16, len(variants))
	for i := range all {
		all[i] = uint16(i)
	}
	var out []windowHit
	for _, num := range nums {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref, err := m.refLandmarks(num)
		if err != nil {
			m.log.Debug("candidate vanished", "work_num", num, "err", err)
			continue
		}
		// align tries at most maxVariantsPerCandidate variants at once:
		// the variants go a slice at a time, the best alignment stays.
		var best windowHit
		found := false
		for lo := 0; lo < len(all); lo += maxVariantsPerCandidate {
			h, ok := m.align(num, ref, byVariant, all[lo:min(len(all), lo+maxVariantsPerCandidate)], variants, &sc.align)
			if ok && (!found || h.score > best.score) {
				best, found = h, true
			}
		}
		if found {
			out = append(out, best)
		}
	}
	return m.decide(out, int(m.store.Live()), variants), nil
}

// gridWorks returns the works the targeted grid aligns: the triplet
// vote's, then the identity searches', distinct, at most gridMaxWorks x
// maxCandidates.
func gridWorks(triplet, identity []uint32, maxCandidates int) []uint32 {
	var out []uint32
	for _, n := range append(slices.Clone(triplet), identity...) {
		if len(out) == gridMaxWorks*maxCandidates {
			break
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
