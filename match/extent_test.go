package match

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlignedExtent: anchors before a work that match by chance
// (other music holding a note the work's print has there) bring real
// targets in the work with them; they must not move the segment's start
// by more than vouchFrames. A true first anchor with a near target keeps
// its own time. At the end, the last targets mark where the work still
// plays, each as far as vouchFrames after its anchor.
func TestAlignedExtent(t *testing.T) {
	const off = 500.0
	mk := func(q, dt float32, id uint32) hit {
		return hit{qframe: q, sframe: q, rframe: q + off, idDt: id | uint32(dt)<<hitIDBits}
	}
	var work []hit
	id := uint32(0)
	for q := float32(100); q <= 400; q += 6 {
		work = append(work, mk(q, 4, id), mk(q, 20, id+1))
		id += 2
	}
	first, last, _ := alignedExtent(work, nil, 1, off, 2)
	require.Equal(t, 100.0, first, "the first anchor, vouched for by its near target")
	require.Equal(t, 400.0+vouchFrames, last, "the last anchor's far target, vouched for as far as vouchFrames")

	// Near targets only: the last target is the end.
	var near []hit
	for i, h := range work {
		near = append(near, mk(h.qframe, float32(4+6*(i%2)), uint32(i)))
	}
	_, last, _ = alignedExtent(near, nil, 1, off, 2)
	require.Equal(t, 410.0, last, "the last target, vouched for by its near anchor")

	// Chance anchors up to 30 frames early, close to each other and to the
	// work's, whose targets lie in the work.
	chance := append([]hit{mk(70, 33, id), mk(70, 40, id+1), mk(80, 23, id+2), mk(88, 14, id+3)}, work...)
	first, _, _ = alignedExtent(chance, nil, 1, off, 2)
	require.GreaterOrEqual(t, first, 100.0-vouchFrames, "chance anchors move the start by at most vouchFrames")
	require.Less(t, first, 100.0)

	// Two chance pairs before the work, set apart from it: strays.
	strays := append([]hit{mk(60, 5, id), mk(68, 4, id+1)}, work...)
	first, _, _ = alignedExtent(strays, nil, 1, off, 2)
	require.Equal(t, 100.0, first, "stray anchors are not the start")

	// Two chance pairs after the work's last.
	after := append(append([]hit(nil), near...), mk(430, 10, id), mk(440, 4, id+1))
	_, last, _ = alignedExtent(after, nil, 1, off, 2)
	require.Equal(t, 410.0, last, "stray anchors are not the end")

	// The work again after a 3 s gap at the same offset (masked by
	// something louder, or quiet under noise), and three chance anchors
	// further on.
	resumed := append([]hit(nil), near...)
	for q := float32(500); q <= 600; q += 6 {
		resumed = append(resumed, mk(q, 4, id))
		id++
	}
	resumed = append(resumed, mk(700, 4, id), mk(710, 4, id+1), mk(720, 4, id+2))
	first, last, _ = alignedExtent(resumed, nil, 1, off, 2)
	require.Equal(t, 100.0, first)
	require.Equal(t, 600.0, last, "the work's runs are joined, chance anchors left out")

	// A sparse run on the work's offset after a gap: ten chance anchors a
	// second apart from the next track of the album, a fifth of the
	// work's density. Not joined.
	sparse := append([]hit(nil), near...)
	for q := float32(480); q <= 760; q += 31 {
		sparse = append(sparse, mk(q, 4, id))
		id++
	}
	_, last, _ = alignedExtent(sparse, nil, 1, off, 2)
	require.Equal(t, 410.0, last, "a sparse run is another track's resemblance, not the work")

	// Cut straight into related music: three chance anchors in a second,
	// 0.7 s after the work's last. Strays, not the end.
	cut := append(append([]hit(nil), near...), mk(432, 4, id), mk(440, 4, id+1), mk(443, 4, id+2))
	_, last, _ = alignedExtent(cut, nil, 1, off, 2)
	require.Equal(t, 410.0, last, "three chance anchors after a cut are not the end")
}

// TestChanceEnds: after a cut into related music the query goes on
// playing anchors, a few of which align on the work's offset close
// together (not strays); they are a small share of what the query has
// there, where the work aligned half of its own, and are not the end.
// The same few aligned anchors where the query has little else (the
// work's quiet ending) are the work.
func TestChanceEnds(t *testing.T) {
	const off = 500.0
	mk := func(q float32, id uint32) hit {
		return hit{qframe: q, sframe: q, rframe: q + off, idDt: id | 4<<hitIDBits}
	}
	var work []hit
	var anchors []float32
	id := uint32(0)
	for q := float32(100); q <= 400; q += 3 {
		anchors = append(anchors, q)
		if int(q)%2 == 0 { // half of the work's anchors align
			work = append(work, mk(q, id))
			id++
		}
	}
	after := append([]hit(nil), work...)
	dense := slices.Clone(anchors)
	for q := float32(401); q <= 440; q++ {
		dense = append(dense, q) // the next track: an anchor a frame
	}
	after = append(after, mk(411, id), mk(422, id+1), mk(433, id+2))
	_, last, _ := alignedExtent(after, dense, 1, off, 2)
	require.Equal(t, 400.0+4, last, "three aligned among forty of the next track's anchors are chance")

	sparse := append(slices.Clone(anchors), 411, 422, 433)
	_, last, _ = alignedExtent(after, sparse, 1, off, 2)
	require.Equal(t, 433.0+4, last, "three aligned among three are the work's ending")

	_, last, _ = alignedExtent(after, nil, 1, off, 2)
	require.Equal(t, 433.0+4, last, "without the query's anchors nothing is trimmed")
}
