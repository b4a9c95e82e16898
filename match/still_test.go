package match

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// TestPlaceStill: a clip of a still shot is placed by its motion when its
// motion follows the work's at one offset and no other, and not placed
// otherwise.
func TestPlaceStill(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fams := [][]int{{0}}
	still := rng.Uint64()
	// The work: 200 frames of one still picture (a few bits of jitter),
	// with a motion that varies from frame to frame (leaves in the wind).
	motion := make([]uint8, 200)
	for i := range motion {
		motion[i] = uint8(2 + rng.IntN(40))
	}
	ref := &videoRef{vp: DefaultVideoParams(), len: 200, at: make([][]uint64, 200), motion: motion}
	for i := range ref.at {
		ref.at[i] = []uint64{still ^ 1<<rng.IntN(64)}
	}
	// A query of frames at..at+49 whose motion is m(work motion).
	clip := func(at int, m func(i int, v uint8) uint8) *fingerprint.VideoPrint {
		q := &fingerprint.VideoPrint{Sampled: 50}
		for i := range 50 {
			q.Frames = append(q.Frames, fingerprint.VideoFrameHashes{
				Index: uint32(i), Hashes: []uint64{still ^ 1<<rng.IntN(64)}, Motion: m(i, motion[at+i])})
		}
		return q
	}
	noisy := func(_ int, v uint8) uint8 { // a copy: scaled (contrast), noisy (re-encode)
		return uint8(min(255, max(1, int(float64(v)*1.3)+rng.IntN(9)-4)))
	}
	for _, tc := range []struct {
		name  string
		ref   *videoRef
		q     *fingerprint.VideoPrint
		voted int64 // the offset the pictures chose (by noise)
		want  int64 // -1: not placed
	}{
		{"a copy, placed where it was taken", ref, clip(120, noisy), 90, 120},
		{"a copy of the shot's start", ref, clip(0, noisy), 37, 0},
		{"unrelated motion", ref, clip(120, func(int, uint8) uint8 { return uint8(2 + rng.IntN(40)) }), 90, -1},
		{"a frozen picture", ref, clip(120, func(int, uint8) uint8 { return 1 }), 90, -1},
		{"motion unknown in the query", ref, clip(120, func(int, uint8) uint8 { return 0 }), 90, -1},
		{"motion unknown in the work", &videoRef{vp: DefaultVideoParams(), len: ref.len, at: ref.at}, clip(120, noisy), 90, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, _, _ := tc.ref.matched(tc.q, fams, false, tc.voted)
			off, conf, ok := tc.ref.placeStill(tc.q, fams, false, tc.voted, mt)
			if tc.want < 0 {
				assert.False(t, ok, "placed at %d (%.3f)", off, conf)
				return
			}
			if assert.True(t, ok) {
				assert.Equal(t, tc.want, off)
				assert.Greater(t, conf, 0.99)
			}
		})
	}
}

// TestPlaceStillEmbedded: a clip of a still shot between unrelated
// footage, one frame of which passes for the still picture, is placed by
// the clip's own frames.
func TestPlaceStillEmbedded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fams := [][]int{{0}}
	still := rng.Uint64()
	ref := &videoRef{vp: DefaultVideoParams(), len: 200, at: make([][]uint64, 200), motion: make([]uint8, 200)}
	for i := range ref.at {
		ref.at[i] = []uint64{still ^ 1<<rng.IntN(64)}
		ref.motion[i] = uint8(2 + rng.IntN(40))
	}
	// 25 frames of unrelated moving footage (frame 22 looks like the
	// still), frames 120-169 of the work from query frame 25, 25 more
	// unrelated frames.
	q := &fingerprint.VideoPrint{Sampled: 100}
	for i := range 100 {
		f := fingerprint.VideoFrameHashes{Index: uint32(i), Hashes: []uint64{rng.Uint64()}, Motion: uint8(150 + rng.IntN(106))}
		switch {
		case i == 22:
			f.Hashes[0] = still
		case i >= 25 && i < 75:
			f.Hashes[0] = still ^ 1<<rng.IntN(64)
			if i > 25 {
				f.Motion = ref.motion[i+95] + uint8(rng.IntN(3))
			}
		}
		q.Frames = append(q.Frames, f)
	}
	mt, _, _ := ref.matched(q, fams, false, 60)
	require.Contains(t, mt, uint32(22))
	off, _, ok := ref.placeStill(q, fams, false, 60, mt)
	require.True(t, ok)
	assert.Equal(t, int64(95), off)
}

func TestMotionCorr(t *testing.T) {
	ref := &videoRef{vp: DefaultVideoParams(), len: 40, at: make([][]uint64, 40), motion: make([]uint8, 40)}
	q := &fingerprint.VideoPrint{}
	for i := range 40 {
		ref.motion[i] = uint8(1 + (i*7)%23)
		q.Frames = append(q.Frames, fingerprint.VideoFrameHashes{Index: uint32(i), Motion: uint8(1 + 2*((i*7)%23))})
	}
	c, ok := ref.motionCorr(q, 0)
	assert.True(t, ok)
	assert.InDelta(t, 1.0, c, 1e-9, "a scaled series correlates fully")
	// Too few frames overlap far out.
	_, ok = ref.motionCorr(q, 25)
	assert.False(t, ok)
}
