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
	frames := []VideoFrameHashes{{Index: 0, Hashes: []uint64{1, 2}}, {Index: 3, Hashes: []uint64{1 << 63, 5}, Motion: 17}, {Index: 900, Hashes: []uint64{0, ^uint64(0)}, Motion: 255}}
	b := AppendVideoPrint(nil, frames)
	got, err := DecodeVideoPrint(b)
	require.NoError(t, err)
	assert.Equal(t, frames, got)
	// Cut right before the motion section, it is a print written before
	// motion was recorded: the same frames, motion unknown. Cut anywhere
	// else, it is refused.
	old := len(b) - 1 - len(frames)
	for i := range b {
		got, err := DecodeVideoPrint(b[:i])
		if i == old {
			require.NoError(t, err)
			for j := range frames {
				assert.Equal(t, frames[j].Hashes, got[j].Hashes)
				assert.Zero(t, got[j].Motion)
			}
			continue
		}
		assert.Error(t, err, "truncated at %d", i)
	}
	// A motion section of the wrong length or kind is refused.
	_, err = DecodeVideoPrint(append(b, 9))
	assert.Error(t, err)
	b[old] = 0x02
	_, err = DecodeVideoPrint(b)
	assert.Error(t, err)
}

func TestMotionOf(t *testing.T) {
	frame := func(v byte) *media.VideoFrame {
		f := &media.VideoFrame{Width: 20, Height: 10, Pix: make([]byte, 200), Active: media.Rect{W: 20, H: 10}}
		for i := range f.Pix {
			f.Pix[i] = v
		}
		return f
	}
	a, b := frame(100), frame(103)
	for _, tc := range []struct {
		name      string
		prev, cur *media.VideoFrame
		want      uint8
	}{
		{"no previous frame", nil, a, 0},
		{"same picture", a, frame(100), 1},
		{"3 levels brighter", a, b, 1 + 3*MotionScale},
		{"3 levels darker", b, a, 1 + 3*MotionScale},
		{"saturates", frame(0), frame(255), 255},
		{"size changed", &media.VideoFrame{Width: 10, Height: 20, Pix: make([]byte, 200)}, a, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, motionOf(tc.prev, tc.cur))
		})
	}
	// Only the central 80 % of the active area counts: a change at the
	// edge (a crop's width) is not motion.
	c := frame(100)
	for y := range 10 {
		c.Pix[y*20] = 200
	}
	assert.Equal(t, uint8(1), motionOf(a, c))
	l, ok := MotionLevel(1 + 3*MotionScale)
	assert.True(t, ok)
	assert.InDelta(t, 3.0, l, 1e-9)
	_, ok = MotionLevel(0)
	assert.False(t, ok)
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
	f.Add(AppendVideoPrint(nil, []VideoFrameHashes{{Index: 1, Hashes: []uint64{3}, Motion: 9}, {Index: 4, Hashes: []uint64{5}, Motion: 200}}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := DecodeVideoPrint(b)
		if err != nil {
			return
		}
		if len(frames) > 0 {
			// Prints without a motion section (written before it existed)
			// gain one when written again; the frames stay.
			again, err := DecodeVideoPrint(AppendVideoPrint(nil, frames))
			require.NoError(t, err)
			assert.Equal(t, frames, again)
		}
	})
}
