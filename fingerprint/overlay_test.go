package fingerprint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// withLogo returns f with an opaque white box burnt into its top-left
// corner (8..27 x 8..19 of 96).
func withLogo(f *media.VideoFrame) *media.VideoFrame {
	g := *f
	g.Pix = append([]byte(nil), f.Pix...)
	for y := 8; y < 20; y++ {
		for x := 8; x < 28; x++ {
			g.Pix[y*g.Width+x] = 250
		}
	}
	return &g
}

func TestOverlayMasker(t *testing.T) {
	const n = 40
	type out struct {
		idx    uint32
		masked bool
		pix    []byte
	}
	run := func(frame func(i int) *media.VideoFrame) []out {
		var got []out
		m := newOverlayMasker(func(f, masked *media.VideoFrame, idx uint32) {
			got = append(got, out{idx, f != masked, append([]byte(nil), masked.Pix...)})
		})
		for i := range n {
			m.add(frame(i), uint32(i))
		}
		m.flush()
		return got
	}

	t.Run("a logo over moving pictures is masked", func(t *testing.T) {
		got := run(func(i int) *media.VideoFrame { return withLogo(pattern(uint64(i), 96)) })
		require.Len(t, got, n, "every frame is handed on once, in order")
		for i, o := range got {
			assert.Equal(t, uint32(i), o.idx)
			require.True(t, o.masked, "frame %d", i)
			assert.NotEqual(t, byte(250), o.pix[12*96+15], "frame %d: the logo is masked", i)
		}
	})
	t.Run("a still shot is left alone", func(t *testing.T) {
		still := pattern(7, 96)
		for _, o := range run(func(int) *media.VideoFrame { return still }) {
			assert.False(t, o.masked)
		}
	})
	t.Run("moving pictures without an overlay are left alone", func(t *testing.T) {
		for _, o := range run(func(i int) *media.VideoFrame { return pattern(uint64(i), 96) }) {
			assert.False(t, o.masked)
		}
	})
}

// TestMaskedHashCloser checks what masking is for: the masked region's
// hash of a frame with a logo is closer to the clean frame's than the
// unmasked one's.
func TestMaskedHashCloser(t *testing.T) {
	p := DefaultVideoParams()
	h := NewFrameHasher(p)
	im := len(p.QueryRegions) - 2 // the masked 1.0 region
	require.True(t, p.QueryRegions[im].Masked)
	var plain, masked int
	var frames []*media.VideoFrame
	for i := range 30 {
		frames = append(frames, pattern(uint64(100+i), 96))
	}
	m := newOverlayMasker(func(f, mf *media.VideoFrame, idx uint32) {
		ref, ok := h.Hash(frames[idx], idx, false)
		require.True(t, ok)
		q, ok := h.hash(f, mf, idx, true)
		require.True(t, ok)
		plain += Hamming(q.Hashes[0], ref.Hashes[0])
		masked += Hamming(q.Hashes[im], ref.Hashes[0])
	})
	for i, f := range frames {
		m.add(withLogo(f), uint32(i))
	}
	m.flush()
	assert.Less(t, masked, plain)
	t.Logf("mean distance to the clean frame over 30 frames: unmasked %.1f bits, masked %.1f", float64(plain)/30, float64(masked)/30)
}
