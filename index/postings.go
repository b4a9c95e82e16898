package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// postingList is a decoded postings value: works in ascending order, each
// with its sorted anchor times (FORMAT.md#postings).
type postingList struct {
	works []uint32
	times [][]uint32
}

// find returns the index of work w, or -1.
func (pl *postingList) find(w uint32) int {
	i, ok := slices.BinarySearch(pl.works, w)
	if !ok {
		return -1
	}
	return i
}

// set replaces work w's times (nil or empty removes w).
func (pl *postingList) set(w uint32, times []uint32) {
	i, ok := slices.BinarySearch(pl.works, w)
	switch {
	case ok && len(times) == 0:
		pl.works = slices.Delete(pl.works, i, i+1)
		pl.times = slices.Delete(pl.times, i, i+1)
	case ok:
		pl.times[i] = times
	case len(times) > 0:
		pl.works = slices.Insert(pl.works, i, w)
		pl.times = slices.Insert(pl.times, i, times)
	}
}

// shortMaxWorks is the most works a list written in the short form
// holds (FORMAT.md#postings); longer lists are written in the Roaring
// form. Measured on the 12-hour benchmark store (223 works, 14 works a
// list on average), the short form takes 61 % of the bytes the Roaring
// form took (47 % on the 1.3-hour store): a Roaring bitmap spends 16
// bytes of header and 2 bytes a work, a delta head 1 byte a work there.
// On a long list the two cost about the same (a head grows to 2 or 3
// bytes as the store grows and gaps widen), so lists of 64 works and more
// keep the Roaring form; that cut costs 0.04 % of the short form's gain
// on the 12-hour store.
const shortMaxWorks = 63

// encodePostings encodes pl: one work and one time inline, up to
// shortMaxWorks works in the short form, more in the Roaring form
// (FORMAT.md#postings).
func encodePostings(pl *postingList) []byte {
	if len(pl.works) == 1 && len(pl.times[0]) == 1 {
		v := make([]byte, 5, 10)
		v[0] = postingsSingle
		binary.BigEndian.PutUint32(v[1:], pl.works[0])
		return binary.AppendUvarint(v, uint64(pl.times[0][0]))
	}
	if len(pl.works) <= shortMaxWorks {
		return appendShortPostings(nil, pl)
	}
	bm := roaring.BitmapOf(pl.works...)
	bm.RunOptimize()
	var buf bytes.Buffer
	buf.WriteByte(postingsList)
	var tmp [binary.MaxVarintLen64]byte
	buf.Write(tmp[:binary.PutUvarint(tmp[:], bm.GetSerializedSizeInBytes())])
	_, _ = bm.WriteTo(&buf) // writes to a bytes.Buffer cannot fail
	out := buf.Bytes()
	for _, ts := range pl.times {
		out = binary.AppendUvarint(out, uint64(len(ts)))
		out = appendTimes(out, ts)
	}
	return out
}

// appendShortPostings appends the short form of pl (FORMAT.md#postings).
func appendShortPostings(out []byte, pl *postingList) []byte {
	out = append(out, postingsShort)
	out = binary.AppendUvarint(out, uint64(len(pl.works)))
	prev := int64(-1)
	for i, w := range pl.works {
		ts := pl.times[i]
		head := uint64(int64(w)-prev-1) << 1
		if len(ts) > 1 {
			head |= 1
		}
		out = binary.AppendUvarint(out, head)
		if len(ts) > 1 {
			out = binary.AppendUvarint(out, uint64(len(ts)-2))
		}
		out = appendTimes(out, ts)
		prev = int64(w)
	}
	return out
}

// appendTimes appends sorted times: the first, then the differences.
func appendTimes(out []byte, ts []uint32) []byte {
	prev := uint32(0)
	for _, t := range ts {
		out = binary.AppendUvarint(out, uint64(t-prev))
		prev = t
	}
	return out
}

// decodePostings decodes v into pl (reusing its slices). It copies what it
// keeps: v may be a Badger buffer that is reused after the call. When keep
// is not nil, only the works it contains are kept.
func decodePostings(v []byte, pl *postingList, keep *roaring.Bitmap) error {
	pl.works, pl.times = pl.works[:0], pl.times[:0]
	flat, err := decodeFlat(v, nil)
	if err != nil {
		return err
	}
	off := 1
	for range flat[0] {
		w, cnt := flat[off], int(flat[off+1])
		ts := flat[off+2 : off+2+cnt : off+2+cnt]
		off += 2 + cnt
		if keep == nil || keep.Contains(w) {
			pl.works = append(pl.works, w)
			pl.times = append(pl.times, ts)
		}
	}
	return nil
}

// decodeFlat decodes v and appends it to dst in the flat layout of the
// postings cache: works, then per work: num, count, times. One allocation
// at most, however many works the list holds: a query on a large store
// decodes tens of millions of postings.
func decodeFlat(v []byte, dst []uint32) ([]uint32, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("%w: empty postings", ErrCorrupt)
	}
	switch v[0] {
	case postingsSingle:
		if len(v) < 6 {
			return nil, fmt.Errorf("%w: single posting of %d bytes", ErrCorrupt, len(v))
		}
		w := binary.BigEndian.Uint32(v[1:])
		t, n := binary.Uvarint(v[5:])
		if n <= 0 || 5+n != len(v) || t > 1<<32-1 {
			return nil, fmt.Errorf("%w: single posting time", ErrCorrupt)
		}
		return append(dst, 1, w, 1, uint32(t)), nil
	case postingsShort:
		return decodeShort(v, dst)
	case postingsList:
	default:
		return nil, fmt.Errorf("%w: postings encoding %#x", ErrCorrupt, v[0])
	}
	size, n := binary.Uvarint(v[1:])
	if n <= 0 || size > uint64(len(v)-1-n) {
		return nil, fmt.Errorf("%w: postings bitmap length", ErrCorrupt)
	}
	off := 1 + n
	bm := roaring.New()
	if _, err := bm.FromUnsafeBytes(v[off : off+int(size)]); err != nil {
		return nil, fmt.Errorf("%w: postings bitmap: %w", ErrCorrupt, err)
	}
	// Reading accepts some malformed containers (a run container with no
	// runs) that iterators then panic on: check the invariants first.
	if err := bm.Validate(); err != nil {
		return nil, fmt.Errorf("%w: postings bitmap: %w", ErrCorrupt, err)
	}
	off += int(size)
	// Each work takes at least 2 bytes of v (count, one time) and 3 words.
	if dst == nil {
		dst = make([]uint32, 0, 1+(len(v)-off)*3/2)
	}
	head := len(dst)
	dst = append(dst, 0)
	nWorks := uint32(0)
	var err error
	it := bm.Iterator()
	for it.HasNext() {
		w := it.Next()
		cnt, n := binary.Uvarint(v[off:])
		if n <= 0 || cnt == 0 || cnt > uint64(len(v)-off) {
			return nil, fmt.Errorf("%w: postings count of work %d", ErrCorrupt, w)
		}
		off += n
		dst = append(dst, w, uint32(cnt))
		if dst, off, err = decodeTimes(v, off, w, cnt, dst); err != nil {
			return nil, err
		}
		nWorks++
	}
	if off != len(v) {
		return nil, fmt.Errorf("%w: %d trailing postings bytes", ErrCorrupt, len(v)-off)
	}
	dst[head] = nWorks
	return dst, nil
}

// decodeShort is decodeFlat for the short form.
func decodeShort(v []byte, dst []uint32) ([]uint32, error) {
	nw, n := binary.Uvarint(v[1:])
	// Each work takes at least 2 bytes (head, one time).
	if n <= 0 || nw > uint64(len(v)-1-n)/2 {
		return nil, fmt.Errorf("%w: short postings of %d works in %d bytes", ErrCorrupt, nw, len(v))
	}
	off := 1 + n
	if dst == nil {
		dst = make([]uint32, 0, 1+(len(v)-off)*3/2)
	}
	dst = append(dst, uint32(nw))
	next := uint64(0) // the least number the next work may have
	var err error
	for range nw {
		head, n := binary.Uvarint(v[off:])
		if n <= 0 {
			return nil, fmt.Errorf("%w: short postings work", ErrCorrupt)
		}
		off += n
		w := next + head>>1
		if w > 1<<32-1 {
			return nil, fmt.Errorf("%w: short postings work number overflow", ErrCorrupt)
		}
		next = w + 1
		cnt := uint64(1)
		if head&1 != 0 {
			c, n := binary.Uvarint(v[off:])
			if n <= 0 || c > uint64(len(v)-off) {
				return nil, fmt.Errorf("%w: postings count of work %d", ErrCorrupt, w)
			}
			off += n
			cnt = c + 2
		}
		dst = append(dst, uint32(w), uint32(cnt))
		if dst, off, err = decodeTimes(v, off, uint32(w), cnt, dst); err != nil {
			return nil, err
		}
	}
	if off != len(v) {
		return nil, fmt.Errorf("%w: %d trailing postings bytes", ErrCorrupt, len(v)-off)
	}
	return dst, nil
}

// decodeTimes appends the cnt delta-coded times of work w found at
// v[off:] to dst, and returns the offset after them.
func decodeTimes(v []byte, off int, w uint32, cnt uint64, dst []uint32) ([]uint32, int, error) {
	t := uint64(0)
	for range cnt {
		d, n := binary.Uvarint(v[off:])
		if n <= 0 {
			return nil, 0, fmt.Errorf("%w: postings times of work %d", ErrCorrupt, w)
		}
		off += n
		t += d
		if t > 1<<32-1 {
			return nil, 0, fmt.Errorf("%w: postings time overflow", ErrCorrupt)
		}
		dst = append(dst, uint32(t))
	}
	return dst, off, nil
}
