package match

import (
	"github.com/cueprint/cueprint/fingerprint"
)

// entry is one query hash under one variant.
type entry struct {
	hash    uint32
	variant uint16
	pair    uint32
	frame   float32 // anchor time in reference frames (query time * TimeScale)
	qframe  float32 // anchor time in query frames
}

// query is a window's hashes: its entries sorted by hash (then variant),
// the distinct hashes, and where each one's entries start (uniqPos[i], up
// to uniqPos[i+1]). Its buffers are the scratch's, given back by release.
type query struct {
	entries []entry
	uniq    []uint32
	uniqPos []int32
}

// release gives q's buffers back to sc for the next search.
func (q query) release(sc *scratch) {
	sc.entries = q.entries[:0]
	sc.uniq, sc.uniqPos = q.uniq[:0], q.uniqPos[:0]
}

// hashQuery hashes the query (step 1 of a search, package doc): every
// pair of the window's peaks under each variant, k targets per sub-zone,
// sorted by hash.
func (m *Matcher) hashQuery(sc *scratch, peaks []fingerprint.Peak, variants []fingerprint.Variant, k int) query {
	entries := sc.entries[:0]
	// The window's anchor times, for align's edges (chanceEnds).
	sc.align.anchors = sc.align.anchors[:0]
	for _, pk := range peaks {
		sc.align.anchors = append(sc.align.anchors, pk.Time)
	}
	for vi, v := range variants {
		m.fp.QueryHashesK(peaks, v, k, func(pair int, t float64, hash uint32) {
			entries = append(entries, entry{hash: hash, variant: uint16(vi), pair: uint32(pair), frame: float32(t), qframe: float32(t / v.TimeScale)})
		})
	}
	if len(entries) == 0 {
		return query{entries: entries, uniq: sc.uniq[:0], uniqPos: sc.uniqPos[:0]}
	}
	// By hash, then variant: entries were made variant by variant, and
	// the sort is stable.
	sc.entriesTmp = sortEntriesByHash(entries, sc.entriesTmp)
	// The distinct hashes, and where each one's entries start
	// (uniqPos[i], up to uniqPos[i+1]).
	uniq, uniqPos := sc.uniq[:0], sc.uniqPos[:0]
	for i, e := range entries {
		if i == 0 || e.hash != entries[i-1].hash {
			uniq = append(uniq, e.hash)
			uniqPos = append(uniqPos, int32(i))
		}
	}
	uniqPos = append(uniqPos, int32(len(entries)))

	return query{entries: entries, uniq: uniq, uniqPos: uniqPos}
}
