package match

import (
	"cmp"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// collectLandmarks returns the first batch of candidates' landmarks that
// share a hash with the query, from the postings the vote kept (step 4
// of a search, package doc); nil when it kept none, and the stored prints
// are read instead (refLandmarks).
func (m *Matcher) collectLandmarks(q query, b ballot, cands []*candidate) map[uint32]*refPrint {
	uniq, kept, overflow := q.uniq, b.kept, b.overflow || b.dropped
	// The candidates' landmarks that share a hash with the query are what
	// the postings just returned (hash, work, times): alignment joins the
	// query with those, not with the whole stored print, which it would
	// have to decode and hash again. Only when the postings were too many
	// to keep, or some were stop keys the vote skipped, are the stored
	// prints read.
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

	return partial
}

// refPrint returns work num's cached print, creating it (and returning
// its peaks, nil when it was cached) on a miss.
func (m *Matcher) refPrint(num uint32) (*refPrint, []fingerprint.Peak, error) {
	if r := m.cache.get(num); r != nil {
		return r, nil, nil
	}
	peaks, err := m.store.Peaks(num)
	if err != nil {
		return nil, nil, err
	}
	return m.cache.put(num, &refPrint{size: len(peaks) * m.fp.FanOut}), peaks, nil
}

// refLandmarks returns a work's print with its landmarks sorted by hash,
// computed from its forward print the first time.
func (m *Matcher) refLandmarks(num uint32) (*refPrint, error) {
	r, peaks, err := m.refPrint(num)
	if err != nil {
		return nil, err
	}
	r.landmarksOnce.Do(func() {
		if peaks == nil {
			if peaks, err = m.store.Peaks(num); err != nil {
				r.landmarksErr = err
				return
			}
		}
		lms := m.fp.Landmarks(peaks)
		// Landmarks come in anchor order: a stable sort by hash leaves
		// each hash's in time order, as CompareLandmarks sorts them.
		radixSort(lms, nil, 1<<fingerprint.HashBits-1, func(l fingerprint.Landmark) uint32 { return l.Hash })
		r.landmarks = lms
	})
	return r, r.landmarksErr
}

// refTriplets returns a work's triplets sorted by key, computed from its
// forward print the first time the invariant search asks for them. The
// identity searches, which align most works, never pay for them.
func (m *Matcher) refTriplets(num uint32) ([]fingerprint.Triplet, error) {
	r, peaks, err := m.refPrint(num)
	if err != nil {
		return nil, err
	}
	r.tripletsOnce.Do(func() {
		if peaks == nil {
			if peaks, err = m.store.Peaks(num); err != nil {
				r.tripletsErr = err
				return
			}
		}
		r.triplets = m.fp.RefTriplets(peaks)
		slices.SortFunc(r.triplets, func(x, y fingerprint.Triplet) int { return cmp.Compare(x.Key, y.Key) })
	})
	return r.triplets, r.tripletsErr
}

// refPeaks returns a work's forward print (its peaks in time order),
// kept the first time a found work's edges ask for it.
func (m *Matcher) refPeaks(num uint32) ([]fingerprint.Peak, error) {
	r, peaks, err := m.refPrint(num)
	if err != nil {
		return nil, err
	}
	r.peaksOnce.Do(func() {
		if peaks == nil {
			peaks, r.peaksErr = m.store.Peaks(num)
		}
		r.peaks = peaks
	})
	return r.peaks, r.peaksErr
}
