package index

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

func fakeVideo(seed uint64, n int) []fingerprint.VideoFrameHashes {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]fingerprint.VideoFrameHashes, n)
	for i := range out {
		out[i] = fingerprint.VideoFrameHashes{Index: uint32(2 * i), Hashes: []uint64{rng.Uint64(), rng.Uint64()}}
	}
	return out
}

func TestRegisterVideo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	frames := fakeVideo(1, 30)
	w, err := s.RegisterPrints(ctx, Work{ID: "FILM-1", Title: "film"}, Prints{Video: frames}, false, nil)
	require.NoError(t, err)
	assert.Equal(t, 30, w.VideoFrames)
	assert.Equal(t, 0, w.Peaks)
	got, err := s.VideoPrint(w.Num)
	require.NoError(t, err)
	assert.Equal(t, frames, got)
	key := fingerprint.VideoKeys(frames[3].Hashes[1], nil)[2]
	assert.Equal(t, []uint32{w.Num}, postingsOf(t, s, key))

	// An audiovisual work has both.
	av, err := s.RegisterPrints(ctx, Work{ID: "FILM-2", Title: "film 2"}, Prints{Audio: fakePeaks(2, 400), Video: fakeVideo(2, 10)}, false, nil)
	require.NoError(t, err)
	assert.Positive(t, av.Peaks)
	assert.Equal(t, 10, av.VideoFrames)

	// Nothing at all is refused.
	_, err = s.RegisterPrints(ctx, Work{ID: "EMPTY", Title: "x"}, Prints{}, false, nil)
	assert.ErrorIs(t, err, ErrInvalidWork)

	// Deleting removes the video postings and the print; reopening keeps
	// the rest.
	require.NoError(t, s.Delete(ctx, "FILM-1"))
	assert.Empty(t, rawPostings(t, s, key))
	_, err = s.VideoPrint(w.Num)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()
	got, err = s.VideoPrint(av.Num)
	require.NoError(t, err)
	assert.Len(t, got, 10)
}

func TestVideoParamsMismatch(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	require.NoError(t, s.Close())
	vp := fingerprint.DefaultVideoParams()
	vp.FPS = 4
	_, err := Open(context.Background(), dir, Options{Params: fingerprint.DefaultAudioParams(), Video: vp})
	assert.ErrorIs(t, err, ErrParamsMismatch)
}
