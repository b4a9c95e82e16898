package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// fakeSource is a BuildSource of fake prints; bad lists indexes it fails,
// dup indexes that reuse work 0's ID.
type fakeSource struct {
	n        int
	bad, dup map[int]bool
}

func (f fakeSource) Len() int { return f.n }

func (f fakeSource) Work(_ context.Context, i int) (Work, []fingerprint.Peak, error) {
	if f.bad[i] {
		return Work{}, nil, fmt.Errorf("source refuses %d", i)
	}
	id := fmt.Sprintf("W%04d", i)
	if f.dup[i] {
		id = "W0000"
	}
	return Work{ID: id, Title: "t" + id, DurationS: 60}, fakePeaks(uint64(i), 300+i%7*50), nil
}

// dump returns every key and value of families postings, forward and num.
func dump(t *testing.T, s *Store) map[string]string {
	out := map[string]string{}
	require.NoError(t, s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			switch k[0] {
			case prefixPostings, prefixForward, prefixNum, prefixCounter, prefixMeta:
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				out[string(k)] = string(v)
			}
		}
		return nil
	}))
	return out
}

// TestBuildEqualsRegister: a bulk build writes exactly the keys that
// registering the same works one by one writes, and the built store is an
// ordinary store afterwards.
func TestBuildEqualsRegister(t *testing.T) {
	ctx := context.Background()
	src := fakeSource{n: 150}
	dir := filepath.Join(t.TempDir(), "built")
	st, err := Build(ctx, dir, Options{Params: fingerprint.DefaultAudioParams()}, src,
		BuildOptions{Workers: 3, RunPostings: 5000}) // many runs, split inside ranges
	require.NoError(t, err)
	assert.Equal(t, 150, st.Works)
	assert.Positive(t, st.Postings)
	assert.NoFileExists(t, filepath.Join(dir, buildMarker))
	_, err = os.Stat(dir + ".build")
	assert.True(t, os.IsNotExist(err), "temporary runs removed")

	ref := openTest(t, t.TempDir())
	defer ref.Close()
	for i := range src.n {
		w, peaks, _ := src.Work(ctx, i)
		_, err := ref.Register(ctx, w, peaks, false)
		require.NoError(t, err)
	}
	built := openTest(t, dir)
	defer built.Close()
	want, got := dump(t, ref), dump(t, built)
	assert.Equal(t, len(want), len(got))
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q differs", k)
		}
	}
	assert.EqualValues(t, 150, built.Live())
	for i := range src.n {
		w, err := built.Get(fmt.Sprintf("W%04d", i))
		require.NoError(t, err)
		r, err := ref.Get(w.ID)
		require.NoError(t, err)
		w.RegisteredAt = r.RegisteredAt
		assert.Equal(t, r, w)
	}

	// An ordinary store: register after the build, delete a built work.
	_, err = built.Register(ctx, Work{ID: "late"}, fakePeaks(999, 400), false)
	require.NoError(t, err)
	late, err := built.Get("late")
	require.NoError(t, err)
	assert.EqualValues(t, 151, late.Num)
	require.NoError(t, built.Delete(ctx, "W0003"))
	lms := built.Params().Landmarks(fakePeaks(3, 300+3*50))
	for _, lm := range lms[:20] {
		assert.NotContains(t, rawPostings(t, built, lm.Hash), uint32(4))
	}
}

// TestBuildSkipsAndRefuses: works the source cannot give and duplicate IDs
// are reported and skipped; a directory in use is refused; an interrupted
// build is refused by Open.
func TestBuildSkipsAndRefuses(t *testing.T) {
	ctx := context.Background()
	p := Options{Params: fingerprint.DefaultAudioParams()}
	dir := filepath.Join(t.TempDir(), "built")
	var skipped []int
	st, err := Build(ctx, dir, p, fakeSource{n: 40, bad: map[int]bool{5: true}, dup: map[int]bool{9: true}},
		BuildOptions{OnSkip: func(i int, err error) { skipped = append(skipped, i) }})
	require.NoError(t, err)
	assert.ElementsMatch(t, []int{5, 9}, skipped)
	assert.Equal(t, 38, st.Works)
	assert.Equal(t, 2, st.Skipped)
	s := openTest(t, dir)
	assert.EqualValues(t, 38, s.Live())
	w, err := s.Get("W0000")
	require.NoError(t, err)
	assert.EqualValues(t, 1, w.Num, "the first of two works with one ID wins")
	require.NoError(t, s.Close())

	_, err = Build(ctx, dir, p, fakeSource{n: 3}, BuildOptions{})
	assert.ErrorContains(t, err, "not empty")

	_, err = Build(ctx, filepath.Join(t.TempDir(), "x"), p, fakeSource{n: 3, bad: map[int]bool{1: true}}, BuildOptions{})
	assert.ErrorContains(t, err, "source refuses 1", "without OnSkip a bad work fails the build")

	require.NoError(t, os.WriteFile(filepath.Join(dir, buildMarker), nil, 0o644))
	_, err = Open(ctx, dir, p)
	assert.True(t, errors.Is(err, ErrIncompleteBuild), "%v", err)
}
