package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index/spacetest"
)

// TestSpaceGuard drives the guard with a reported free space: writes are
// refused below the reserve, reads go on, and a store reopened while the
// disk is low is read-only.
func TestSpaceGuard(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var free atomic.Int64
	free.Store(10 << 30)
	opts := Options{Params: fingerprint.DefaultAudioParams(), MinFreeBytes: DefaultMinFreeBytes,
		FreeSpace: func(string) (int64, error) { return free.Load(), nil }}
	s, err := Open(ctx, dir, opts)
	require.NoError(t, err)
	_, err = s.Register(ctx, Work{ID: "a"}, fakePeaks(1, 2000), false)
	require.NoError(t, err)

	free.Store(DefaultMinFreeBytes + 1000) // above the reserve, not by a work's size
	_, err = s.Register(ctx, Work{ID: "b"}, fakePeaks(2, 2000), false)
	require.ErrorIs(t, err, ErrInsufficientStorage)
	var se *SpaceError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, int64(DefaultMinFreeBytes+1000), se.FreeBytes)
	require.ErrorIs(t, s.Delete(ctx, "a"), ErrInsufficientStorage, "a delete rewrites postings too")
	_, err = s.Get("a")
	require.NoError(t, err, "reads go on")
	_, err = s.Get("b")
	require.ErrorIs(t, err, ErrNotFound, "a refused write leaves nothing")
	st := s.Stats()
	assert.True(t, st.Writable)
	assert.True(t, st.LowDisk, "the last write was refused and no space came")
	assert.Equal(t, int64(2), st.WritesRefused)
	free.Store(10 << 30)
	assert.False(t, s.Stats().LowDisk, "space came back")

	free.Store(1 << 20)
	assert.True(t, s.Stats().LowDisk)
	require.NoError(t, s.Close())

	// Reopened on a low disk: read-only, still answering.
	s, err = Open(ctx, dir, opts)
	require.NoError(t, err)
	assert.False(t, s.Writable())
	w, err := s.Get("a")
	require.NoError(t, err)
	assert.Equal(t, "a", w.ID)
	assert.Equal(t, []uint32{w.Num}, postingsOf(t, s, firstHash(s, fakePeaks(1, 2000))))
	_, err = s.Register(ctx, Work{ID: "c"}, fakePeaks(3, 100), false)
	require.ErrorAs(t, err, &se)
	assert.True(t, se.OpenedReadOnly)
	require.NoError(t, s.Close())

	// A new store is not created on a low disk.
	_, err = Open(ctx, filepath.Join(dir, "new"), opts)
	require.ErrorIs(t, err, ErrInsufficientStorage)

	// Space freed: read-write again.
	free.Store(10 << 30)
	s, err = Open(ctx, dir, opts)
	require.NoError(t, err)
	assert.True(t, s.Writable())
	_, err = s.Register(ctx, Work{ID: "c"}, fakePeaks(3, 100), false)
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func firstHash(s *Store, peaks []fingerprint.Peak) uint32 {
	return s.params.Landmarks(peaks)[0].Hash
}

func TestOptionsValidateReserve(t *testing.T) {
	for _, tc := range []struct {
		reserve int64
		ok      bool
	}{{0, true}, {-1, true}, {MinMinFreeBytes, true}, {MinMinFreeBytes - 1, false}, {1 << 20, false}} {
		err := Options{Params: fingerprint.DefaultAudioParams(), MinFreeBytes: tc.reserve}.Validate()
		assert.Equal(t, tc.ok, err == nil, "MinFreeBytes %d: %v", tc.reserve, err)
	}
}

// TestStorePermissions: a store holds rights data, so it is 0700 and its
// files 0600, whatever they were (files Badger makes later take the
// process's umask, which the command line sets to 077).
func TestStorePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openTest(t, dir)
	_, err := s.Register(context.Background(), Work{ID: "a"}, fakePeaks(1, 500), false)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644))
	s = openTest(t, dir)
	defer s.Close()
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		assert.Zero(t, info.Mode().Perm()&0o077, "%s is %v", e.Name(), info.Mode().Perm())
	}
}

// TestFullFilesystem fills a real small filesystem (a tmpfs, mounted when
// the test runs as root): registration is refused before the disk is
// full, never by a crash; the store reopens read-only on the full disk,
// even once another program has taken the last byte.
func TestFullFilesystem(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a filesystem")
	}
	mnt := spacetest.MountTmpfs(t, MinMinFreeBytes+24<<20)
	ctx := context.Background()
	dir := filepath.Join(mnt, "db")
	opts := Options{Params: fingerprint.DefaultAudioParams(), MinFreeBytes: MinMinFreeBytes}
	s, err := Open(ctx, dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() }) // before the unmount, on any failure
	registered := 0
	for i := range 10_000 {
		_, err = s.Register(ctx, Work{ID: fmt.Sprintf("w%05d", i)}, fakePeaks(uint64(i), 6000), false)
		if err != nil {
			break
		}
		registered++
	}
	require.ErrorIs(t, err, ErrInsufficientStorage, "after %d works", registered)
	require.Greater(t, registered, 10)
	t.Logf("%d works registered before the guard refused: %v", registered, err)
	// Another program takes the disk below the reserve: every write is
	// refused, reads go on. (Badger's compactions may free a little of
	// what the refused write lacked, not half the reserve.)
	low := spacetest.FillTo(t, mnt, MinMinFreeBytes/2)
	_, err = s.Register(ctx, Work{ID: "again"}, fakePeaks(99_999, 6000), false)
	require.ErrorIs(t, err, ErrInsufficientStorage)
	require.ErrorIs(t, s.Delete(ctx, "w00000"), ErrInsufficientStorage)
	assert.True(t, s.Stats().LowDisk)
	w, err := s.Get("w00000")
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// Another program takes what is left.
	ballast := spacetest.Fill(t, mnt)

	s, err = Open(ctx, dir, opts)
	require.NoError(t, err, "a full disk opens read-only")
	assert.False(t, s.Writable())
	got, err := s.Get("w00000")
	require.NoError(t, err)
	assert.Equal(t, w.Num, got.Num)
	n := 0
	require.NoError(t, s.List("", func(Work) bool { n++; return true }))
	assert.Equal(t, registered, n, "every acknowledged registration kept")
	_, err = s.Register(ctx, Work{ID: "x"}, fakePeaks(7, 100), false)
	require.ErrorIs(t, err, ErrInsufficientStorage)
	require.NoError(t, s.Close())

	// Space back: writable again, nothing lost.
	require.NoError(t, os.Remove(ballast))
	require.NoError(t, os.Remove(low))
	s, err = Open(ctx, dir, opts)
	require.NoError(t, err)
	assert.True(t, s.Writable())
	assert.Equal(t, uint64(registered), s.Live())
	require.NoError(t, s.Close())
}
