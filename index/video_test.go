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
	ctx := context.Background()
	vp := fingerprint.DefaultVideoParams()
	vp.FPS = 4
	open4 := func(dir string) (*Store, error) {
		return Open(ctx, dir, Options{Params: fingerprint.DefaultAudioParams(), Video: vp})
	}

	// A store with a video print keeps its parameters.
	dir := t.TempDir()
	s := openTest(t, dir)
	_, err := s.RegisterPrints(ctx, Work{ID: "FILM-1"}, Prints{Video: fakeVideo(1, 10)}, false, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = open4(dir)
	assert.ErrorIs(t, err, ErrParamsMismatch)

	// One without (audio only) takes the new ones, and keeps them.
	dir = t.TempDir()
	s = openTest(t, dir)
	_, err = s.RegisterPrints(ctx, Work{ID: "SONG-1"}, Prints{Audio: fakePeaks(1, 400)}, false, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = open4(dir)
	require.NoError(t, err)
	assert.Equal(t, 4, s.VideoParams().FPS)
	_, err = s.RegisterPrints(ctx, Work{ID: "FILM-1"}, Prints{Video: fakeVideo(1, 10)}, false, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(ctx, dir, Options{Params: fingerprint.DefaultAudioParams()})
	assert.ErrorIs(t, err, ErrParamsMismatch, "now it holds a print made at 4 fps")
}
