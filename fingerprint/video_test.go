package fingerprint

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// pattern returns a size x size grey frame of random blobs.
func pattern(seed uint64, size int) *media.VideoFrame {
	rng := rand.New(rand.NewPCG(seed, 3))
	f := &media.VideoFrame{Width: size, Height: size, Pix: make([]byte, size*size), Active: media.Rect{W: size, H: size}}
	for range 12 {
		cx, cy, r, v := rng.IntN(size), rng.IntN(size), 4+rng.IntN(size/4), byte(rng.IntN(256))
		for y := max(cy-r, 0); y < min(cy+r, size); y++ {
			for x := max(cx-r, 0); x < min(cx+r, size); x++ {
				f.Pix[y*size+x] = v
			}
		}
	}
	return f
}

func mirror(f *media.VideoFrame) *media.VideoFrame {
	m := *f
	m.Pix = make([]byte, len(f.Pix))
	for y := range f.Height {
		for x := range f.Width {
			m.Pix[y*f.Width+x] = f.Pix[y*f.Width+f.Width-1-x]
		}
	}
	return &m
}

func TestFrameHasher(t *testing.T) {
	p := DefaultVideoParams()
	require.NoError(t, p.Validate())
	h := NewFrameHasher(p)
	for seed := range uint64(20) {
		f := pattern(seed, p.FrameSize)
		q, ok := h.Hash(f, 7, true)
		require.True(t, ok)
		assert.Len(t, q.Hashes, len(p.QueryRegions))
		r, ok := h.Hash(f, 7, false)
		require.True(t, ok)
		// Scale 1.0 is shared: the query's and the reference's agree.
		assert.Equal(t, q.Hashes[0], r.Hashes[0])
		// The mirrored frame's hash is the query's Flipped hash.
		mq, ok := h.Hash(mirror(f), 7, true)
		require.True(t, ok)
		assert.LessOrEqual(t, Hamming(mq.Hashes[0], q.Flipped[0]), 4, "seed %d", seed)
		// Brightness and contrast leave the hash as it is.
		g := *f
		g.Pix = make([]byte, len(f.Pix))
		for i, v := range f.Pix {
			g.Pix[i] = byte(min(255, 20+int(v)*8/10))
		}
		b, ok := h.Hash(&g, 7, true)
		require.True(t, ok)
		assert.LessOrEqual(t, Hamming(b.Hashes[0], q.Hashes[0]), 4, "seed %d", seed)
		// Unrelated pictures are far apart.
		o, _ := h.Hash(pattern(seed+100, p.FrameSize), 7, true)
		assert.Greater(t, Hamming(o.Hashes[0], q.Hashes[0]), 12, "seed %d", seed)
	}
	// A flat frame is not hashed.
	flat := &media.VideoFrame{Width: 96, Height: 96, Pix: make([]byte, 96*96), Active: media.Rect{W: 96, H: 96}}
	_, ok := h.Hash(flat, 0, false)
	assert.False(t, ok)
}

func TestVideoPrintRoundTrip(t *testing.T) {
	frames := []VideoFrameHashes{{Index: 0, Hashes: []uint64{1, 2}}, {Index: 3, Hashes: []uint64{1 << 63, 5}}, {Index: 900, Hashes: []uint64{0, ^uint64(0)}}}
	b := AppendVideoPrint(nil, frames)
	got, err := DecodeVideoPrint(b)
	require.NoError(t, err)
	assert.Equal(t, frames, got)
	for i := range b {
		_, err := DecodeVideoPrint(b[:i])
		assert.Error(t, err, "truncated at %d", i)
	}
}

func TestVideoKeys(t *testing.T) {
	keys := VideoKeys(0x0123_4567_89ab_cdef, nil)
	assert.Equal(t, []uint32{VideoKeySpace | 0xcdef, VideoKeySpace | 1<<16 | 0x89ab, VideoKeySpace | 2<<16 | 0x4567, VideoKeySpace | 3<<16 | 0x0123}, keys)
	probes := VideoProbeKeys(0x0123_4567_89ab_cdef, nil)
	assert.Len(t, probes, 4*17)
	for _, k := range keys {
		assert.Contains(t, probes, k)
	}
}

func FuzzDecodeVideoPrint(f *testing.F) {
	f.Add(AppendVideoPrint(nil, []VideoFrameHashes{{Index: 1, Hashes: []uint64{3}}}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := DecodeVideoPrint(b)
		if err != nil {
			return
		}
		if len(frames) > 0 {
			assert.Equal(t, b, AppendVideoPrint(nil, frames))
		}
	})
}
