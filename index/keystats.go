package index

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// KeyStats describes how one family of index keys spreads the postings:
// how selective a lookup is, which sets what a query costs as the store
// grows.
type KeyStats struct {
	// Keys is the number of distinct keys holding postings, Postings the
	// number of (work, time) postings under them.
	Keys, Postings int64
	// Mean, P99 and Max are the postings per key.
	Mean     float64
	P99, Max int64
	// EntropyBits is the Shannon entropy of the key of a posting drawn at
	// random, in bits: log2(Keys) when every key holds as many postings.
	// It cannot exceed log2(Postings), so a small store understates the
	// key's capacity.
	EntropyBits float64
	// CollisionBits is the Rényi entropy of order 2, -log2(sum p_k^2):
	// a random key of a query, drawn like the store's, meets on average
	// Postings * 2^-CollisionBits postings. It is what a lookup costs, and
	// the "effective bits" of a key: music's keys are far from uniform.
	CollisionBits float64
}

// KeyFamilies are the statistics of the audio key families: the pair
// hashes and the triplet keys (FORMAT.md#postings).
type KeyFamilies struct {
	Pairs, Triplets KeyStats
}

// KeyStats scans every postings list of the store's audio keys (video
// keys are left out) and returns their statistics, of registered and
// unregistered numbers alike (lists may name works being removed).
func (s *Store) KeyStats(ctx context.Context) (KeyFamilies, error) {
	if err := s.checkOpen(); err != nil {
		return KeyFamilies{}, err
	}
	var pairs, triplets []int64
	var flat []uint32
	err := s.eachPostings(ctx, func(h uint32, v []byte) (err error) {
		if h&fingerprint.VideoKeySpace != 0 && !fingerprint.IsTripletKey(h) {
			return nil
		}
		if flat, err = decodeFlat(v, flat[:0]); err != nil {
			return fmt.Errorf("postings of key %#x: %w", h, err)
		}
		count := int64(0)
		for off, left := 1, int(flat[0]); left > 0; left-- {
			c := int(flat[off+1])
			count += int64(c)
			off += 2 + c
		}
		if fingerprint.IsTripletKey(h) {
			triplets = append(triplets, count)
		} else {
			pairs = append(pairs, count)
		}
		return nil
	})
	if err != nil {
		return KeyFamilies{}, err
	}
	return KeyFamilies{Pairs: keyStatsOf(pairs), Triplets: keyStatsOf(triplets)}, nil
}

// keyStatsOf returns the statistics of the given postings counts, one per
// key.
func keyStatsOf(counts []int64) KeyStats {
	if len(counts) == 0 {
		return KeyStats{}
	}
	slices.Sort(counts)
	var st KeyStats
	st.Keys = int64(len(counts))
	for _, c := range counts {
		st.Postings += c
	}
	total := float64(st.Postings)
	var sumSq float64
	for _, c := range counts {
		p := float64(c) / total
		st.EntropyBits -= p * math.Log2(p)
		sumSq += p * p
	}
	st.CollisionBits = -math.Log2(sumSq)
	st.Mean = total / float64(st.Keys)
	st.P99 = counts[min(len(counts)-1, int(math.Ceil(0.99*float64(len(counts))))-1)]
	st.Max = counts[len(counts)-1]
	return st
}
