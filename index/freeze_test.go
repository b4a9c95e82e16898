package index

import (
	"context"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

var freezeDir = flag.String("freeze", "", "write a small store of the current format to this directory")

// TestFreezeStore writes the store that index/testdata/format_vN holds
// for the current format, when -freeze names a directory:
//
//	go test ./index -run TestFreezeStore -freeze testdata/format_v6
func TestFreezeStore(t *testing.T) {
	if *freezeDir == "" {
		t.Skip("-freeze not given")
	}
	ctx := context.Background()
	s, err := Open(ctx, *freezeDir, Options{Params: fingerprint.DefaultAudioParams(), MinFreeBytes: -1})
	require.NoError(t, err)
	for _, w := range frozenWorks() {
		_, err := s.RegisterPrints(ctx, w.work, w.prints, false, nil)
		require.NoError(t, err)
	}
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Close())
}

type frozenWork struct {
	work   Work
	prints Prints
}

// frozenWorks are the works of every frozen store: an audio work of no
// tenant, an audiovisual work of a tenant, a video work.
func frozenWorks() []frozenWork {
	return []frozenWork{
		{Work{ID: "A-1", Title: "Audio", ISRC: "USRC17607839", DurationS: 60}, Prints{Audio: fakePeaks(11, 1500)}},
		{Work{ID: "AV-1", Title: "Audiovisual", Tenant: "label-a", Owners: []Owner{{Name: "Label", Share: 100}}, DurationS: 30},
			Prints{Audio: fakePeaks(12, 800), Video: fakeVideo(12, 40)}},
		{Work{ID: "V-1", Title: "Video", DurationS: 20}, Prints{Video: fakeVideo(13, 60)}},
	}
}

// TestFrozenStores opens the store each format version wrote
// (testdata/format_vN, see testdata/README.md), in a copy. Versions 1 to
// 3 were written with earlier fingerprint parameters: their meta record
// is read and the store refused with ErrParamsMismatch (its works must be
// registered again), never taken for corrupt. Versions 4 and 5 lack the
// triplet keys: they are refused with ErrNeedsMigration, an error naming
// the command, until Migrate has run (a version 4 store is moved to
// tenant-scoped keys on the way). Then, as in the current version's store,
// every work, print and posting is found.
func TestFrozenStores(t *testing.T) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	for _, version := range []string{"format_v1", "format_v2", "format_v3"} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", version))))
			_, err := Open(ctx, dir, Options{Params: p})
			require.ErrorIs(t, err, ErrParamsMismatch)
			_, err = Migrate(ctx, dir, Options{Params: p}, nil)
			require.ErrorIs(t, err, ErrParamsMismatch)
		})
	}
	for _, version := range []string{"format_v4", "format_v5", "format_v6"} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", version))))
			if version != "format_v6" {
				_, err := Open(ctx, dir, Options{Params: p})
				require.ErrorIs(t, err, ErrNeedsMigration)
				assert.ErrorContains(t, err, "cueprint migrate --db "+dir)
				_, err = Open(ctx, dir, Options{Params: p, ReadOnly: true})
				require.ErrorIs(t, err, ErrNeedsMigration)
				// Cut short after the first work: still refused, then
				// finished by the next run.
				cut, cancel := context.WithCancel(ctx)
				_, err = Migrate(cut, dir, Options{Params: p}, func(int, int) { cancel() })
				require.ErrorIs(t, err, context.Canceled)
				_, err = Open(ctx, dir, Options{Params: p})
				require.ErrorIs(t, err, ErrNeedsMigration)
				var done []int
				st, err := Migrate(ctx, dir, Options{Params: p}, func(d, total int) { done = append(done, d) })
				require.NoError(t, err)
				assert.Equal(t, MigrateStats{From: uint32(version[len(version)-1] - '0'), Works: 3, Keys: st.Keys}, st)
				assert.Positive(t, st.Keys)
				assert.Equal(t, []int{1, 2, 3}, done)
			}
			st, err := Migrate(ctx, dir, Options{Params: p}, nil)
			require.NoError(t, err)
			assert.Equal(t, MigrateStats{From: FormatCurrent}, st, "nothing left to do")
			s, err := Open(ctx, dir, Options{Params: p})
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, uint64(3), s.Live())
			for _, fw := range frozenWorks() {
				w, err := s.GetIn(fw.work.Tenant, fw.work.ID)
				require.NoError(t, err, "%s/%s", fw.work.Tenant, fw.work.ID)
				assert.Equal(t, fw.work.Title, w.Title)
				assert.Equal(t, fw.work.Owners, w.Owners)
				if len(fw.prints.Audio) > 0 {
					peaks, err := s.forwardPrint(w.Num)
					require.NoError(t, err)
					assert.Equal(t, len(fw.prints.Audio), len(peaks))
					h := p.Landmarks(fw.prints.Audio)[0].Hash
					assert.Contains(t, postingsOf(t, s, h), w.Num)
					tk := p.RefTriplets(peaks)[0].Key
					assert.Contains(t, postingsOf(t, s, tk), w.Num)
				}
				if len(fw.prints.Video) > 0 {
					frames, err := s.VideoPrint(w.Num)
					require.NoError(t, err)
					assert.Equal(t, fw.prints.Video, frames)
				}
			}
			assert.Equal(t, FormatCurrent, binary.BigEndian.Uint32(readMeta(t, s)[4:]))
		})
	}
}
