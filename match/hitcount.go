package match

import "math"

// hitCounts counts hits per (work, variant) pair in an open-addressing
// hash table whose size follows the pairs hit, not the works stored: a
// dense array of works x variants counters, which the vote used before,
// cost a store of a million works 38 MB to clear and scan for every
// window searched under 19 variants, however few works the window hit.
//
// Keys are pairKey(work, variant); linear probing on a Fibonacci hash;
// the table doubles at half load, so a probe finds its slot in about
// 1.5 steps. Values are saturating 16-bit counters, later reused to hold
// a pair's index (see vote).
type hitCounts struct {
	keys  []uint64 // key+1; 0 is an empty slot
	vals  []uint16
	n     int // occupied slots
	shift uint
}

// minHitSlots is the table's smallest size: 1,024 slots (10 KB), enough
// for a clean window on a small store without growing.
const minHitSlots = 1 << 10

// pairKey packs a (work, variant) pair.
func pairKey(work uint32, variant uint16) uint64 { return uint64(work)<<16 | uint64(variant) }

// splitPairKey undoes pairKey.
func splitPairKey(k uint64) (work uint32, variant uint16) { return uint32(k >> 16), uint16(k) }

// reset empties the table, keeping its memory when it is no larger than
// minHitSlots times 64 (so one huge window does not pin it).
func (h *hitCounts) reset() {
	if len(h.keys) == 0 || len(h.keys) > minHitSlots<<6 {
		h.alloc(minHitSlots)
		return
	}
	clear(h.keys)
	clear(h.vals)
	h.n = 0
}

func (h *hitCounts) alloc(slots int) {
	h.keys = make([]uint64, slots)
	h.vals = make([]uint16, slots)
	h.n = 0
	h.shift = uint(64 - bitsOf(slots))
}

// bitsOf returns log2 of a power of two.
func bitsOf(n int) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// slot returns the slot of key k: where it is, or the empty slot where
// it would go.
func (h *hitCounts) slot(k uint64) int {
	mask := len(h.keys) - 1
	i := int((k * 0x9e3779b97f4a7c15) >> h.shift)
	for {
		if s := h.keys[i]; s == 0 || s == k+1 {
			return i
		}
		i = (i + 1) & mask
	}
}

// add adds n hits to key k, saturating at math.MaxUint16.
func (h *hitCounts) add(k uint64, n int) {
	i := h.slot(k)
	if h.keys[i] == 0 {
		if 2*(h.n+1) > len(h.keys) {
			h.grow()
			i = h.slot(k)
		}
		h.keys[i] = k + 1
		h.n++
	}
	h.vals[i] = uint16(min(int(h.vals[i])+n, math.MaxUint16))
}

// get returns key k's value, 0 when it has none.
func (h *hitCounts) get(k uint64) uint16 {
	if len(h.keys) == 0 {
		return 0
	}
	return h.vals[h.slot(k)]
}

func (h *hitCounts) grow() {
	keys, vals := h.keys, h.vals
	h.alloc(2 * len(keys))
	for i, k := range keys {
		if k != 0 {
			j := h.slot(k - 1)
			h.keys[j], h.vals[j] = k, vals[i]
			h.n++
		}
	}
}

// each calls fn with every key and a pointer to its value, in slot order.
func (h *hitCounts) each(fn func(k uint64, v *uint16)) {
	for i, k := range h.keys {
		if k != 0 {
			fn(k-1, &h.vals[i])
		}
	}
}

// len returns the number of keys.
func (h *hitCounts) len() int { return h.n }

// words returns the table's size in 4-byte words, for the scratch pool.
func (h *hitCounts) words() int { return 2*len(h.keys) + len(h.vals)/2 }
