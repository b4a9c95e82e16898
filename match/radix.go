package match

import (
	"cmp"
	"math"
	"slices"
)

// radixDigitBits is the width of one radix pass: 2^11 counters stay in L1
// cache; two passes cover offsets spanning 2^22/offsetScale frames (over
// two hours of reference, every work but a few), three a 32-bit hash.
const radixDigitBits = 11

// radixMinLen: below this many offsets a comparison sort is cheaper than
// clearing the radix counters.
const radixMinLen = 256

// sortByOffset sorts offs by offset (the high 32 bits) in place, with an
// LSD radix sort on the offset's distance from the smallest one: linear
// in len(offs), where slices.Sort was a sixth of a clean query's match
// time on a 12-hour store. Entries with equal offsets keep no particular
// order: every consumer (densest, background) reads a run of equal
// offsets as a whole. tmp is scratch space, returned for reuse.
func sortByOffset(offs, tmp []offPair) []offPair {
	if len(offs) < radixMinLen {
		slices.Sort(offs)
		return tmp
	}
	lo, hi := offs[0]>>32, offs[0]>>32
	for _, o := range offs[1:] {
		k := o >> 32
		lo, hi = min(lo, k), max(hi, k)
	}
	return radixSort(offs, tmp, uint32(hi-lo), func(o offPair) uint32 { return uint32(o>>32 - lo) })
}

// sortEntriesByHash sorts entries by hash, stably, with an LSD radix sort
// (a variant search sorts some 200,000 entries per window, where a
// comparison sort was a sixth of its time). tmp is scratch space,
// returned for reuse.
func sortEntriesByHash(entries, tmp []entry) []entry {
	if len(entries) < radixMinLen {
		slices.SortStableFunc(entries, func(x, y entry) int { return cmp.Compare(x.hash, y.hash) })
		return tmp
	}
	return radixSort(entries, tmp, math.MaxUint32, func(e entry) uint32 { return e.hash })
}

// radixSort sorts s stably by key (at most maxKey) in passes of
// radixDigitBits, using tmp as scratch space (returned for reuse).
func radixSort[T any](s, tmp []T, maxKey uint32, key func(T) uint32) []T {
	if maxKey == 0 {
		return tmp
	}
	if cap(tmp) < len(s) {
		tmp = make([]T, len(s))
	}
	tmp = tmp[:len(s)]
	src, dst := s, tmp
	const mask = 1<<radixDigitBits - 1
	var count [1 << radixDigitBits]int
	for shift := uint(0); shift < 32 && maxKey>>shift > 0; shift += radixDigitBits {
		clear(count[:])
		for _, x := range src {
			count[key(x)>>shift&mask]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, x := range src {
			d := key(x) >> shift & mask
			dst[count[d]] = x
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
	return tmp
}

// floor is math.Floor for values that fit an int64, without the function
// call math.Floor costs on amd64 before v2 (once per vote).
func floor(x float64) int64 {
	i := int64(x)
	if float64(i) > x {
		i--
	}
	return i
}
