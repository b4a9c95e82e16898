package match

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlignedExtentStart: anchors before a work that match by chance
// (other music holding a note the work's print has there) bring real
// targets in the work with them; they must not move the segment's start
// by more than vouchFrames. A true first anchor with a near target keeps
// its own time.
func TestAlignedExtentStart(t *testing.T) {
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
	first, last := alignedExtent(work, 1, off, 2)
	require.Equal(t, 100.0, first, "the first anchor, vouched for by its near target")
	require.Equal(t, 400.0, last)

	// Chance anchors 40 and 30 frames early, whose targets lie in the work.
	chance := append([]hit{mk(60, 44, id), mk(60, 47, id+1), mk(70, 33, id+2), mk(70, 40, id+3)}, work...)
	first, _ = alignedExtent(chance, 1, off, 2)
	require.GreaterOrEqual(t, first, 100.0-vouchFrames, "chance anchors move the start by at most vouchFrames")
	require.Less(t, first, 100.0)
}
