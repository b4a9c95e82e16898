package index

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

func TestSegmentSeek(t *testing.T) {
	g := &segment{keys: []uint32{2, 3, 5, 8, 13, 21, 34, 55, 89, 144}}
	for _, tc := range []struct {
		from int
		k    uint32
		want int
	}{
		{0, 0, 0}, {0, 2, 0}, {0, 4, 2}, {0, 144, 9}, {0, 145, 10},
		{3, 8, 3}, {3, 9, 4}, {3, 100, 9}, {9, 144, 9}, {10, 1, 10},
		{5, 3, 5}, // from is past k: from
	} {
		t.Run(fmt.Sprintf("from %d seek %d", tc.from, tc.k), func(t *testing.T) {
			assert.Equal(t, tc.want, g.seek(tc.from, tc.k))
		})
	}
}

// allPostings returns what Postings reports for every key Badger holds,
// keyed by hash: "work:times" per live work.
func allPostings(t *testing.T, s *Store) map[uint32][]string {
	t.Helper()
	var keys []uint32
	require.NoError(t, s.eachPostings(context.Background(), func(k uint32, _ []byte) error {
		keys = append(keys, k)
		return nil
	}))
	out := map[uint32][]string{}
	require.NoError(t, s.Postings(context.Background(), keys, func(h uint32, it *PostingsIter) {
		for it.Next() {
			w, ts := it.At()
			out[h] = append(out[h], fmt.Sprint(w, ts))
		}
	}))
	return out
}

// truth returns the same from Badger alone: each list decoded, filtered
// by the live set.
func truth(t *testing.T, s *Store) map[uint32][]string {
	t.Helper()
	out := map[uint32][]string{}
	require.NoError(t, s.eachPostings(context.Background(), func(h uint32, v []byte) error {
		flat, err := decodeFlat(v, nil)
		if err != nil {
			return err
		}
		for off, left := 1, int(flat[0]); left > 0; left-- {
			w, n := flat[off], int(flat[off+1])
			if s.IsLive(w) {
				out[h] = append(out[h], fmt.Sprint(w, flat[off+2:off+2+n]))
			}
			off += 2 + n
		}
		return nil
	}))
	return out
}

// TestPostingsSegment: once loaded, the segment serves every list as
// Badger holds it; registrations and deletions after it are seen at once
// (their keys read from Badger), and a merge folds them in.
func TestPostingsSegment(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Params: fingerprint.DefaultAudioParams(), SegmentMergeKeys: 1 << 30})
	require.NoError(t, err)
	defer s.Close()
	for i := range 6 {
		_, err := s.Register(ctx, Work{ID: fmt.Sprint("w", i)}, fakePeaks(uint64(i), 400), false)
		require.NoError(t, err)
	}
	before := truth(t, s)
	n, err := s.LoadPostings(ctx)
	require.NoError(t, err)
	st := s.Stats()
	assert.Equal(t, int64(n), st.SegmentLists)
	assert.Positive(t, st.SegmentBytes)
	assert.True(t, st.SegmentComplete)
	assert.Zero(t, st.SegmentDirtyKeys)
	assert.Equal(t, before, allPostings(t, s))
	cacheReads := st.PostingsCacheHits + st.PostingsCacheMisses
	allPostings(t, s)
	st = s.Stats()
	assert.Equal(t, cacheReads, st.PostingsCacheHits+st.PostingsCacheMisses, "the segment served every list, not the cache")

	_, err = s.Register(ctx, Work{ID: "late"}, fakePeaks(100, 400), false)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, "w2"))
	assert.Positive(t, s.Stats().SegmentDirtyKeys)
	want := truth(t, s)
	assert.NotEqual(t, before, want)
	assert.Equal(t, want, allPostings(t, s), "written after the segment")

	n, err = s.LoadPostings(ctx)
	require.NoError(t, err)
	st = s.Stats()
	assert.Zero(t, st.SegmentDirtyKeys)
	assert.Equal(t, int64(2), st.SegmentMerges)
	assert.Equal(t, int64(n), st.SegmentLists)
	assert.Equal(t, want, allPostings(t, s), "merged")
}

// TestPostingsSegmentBackgroundMerge: with a low merge threshold,
// registrations made while queries run start merges in the background;
// every query sees a consistent store and the end state matches Badger.
// Run with -race.
func TestPostingsSegmentBackgroundMerge(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Params: fingerprint.DefaultAudioParams(), SegmentMergeKeys: 500})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Register(ctx, Work{ID: "first"}, fakePeaks(1, 400), false)
	require.NoError(t, err)
	_, err = s.LoadPostings(ctx)
	require.NoError(t, err)
	firstKeys := slices.Collect(maps.Keys(truth(t, s)))
	slices.Sort(firstKeys)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// The first work is never touched: every query finds it whole.
			found := 0
			require.NoError(t, s.Postings(ctx, firstKeys, func(_ uint32, it *PostingsIter) {
				for it.Next() {
					if w, _ := it.At(); w == 1 {
						found++
					}
				}
			}))
			assert.Equal(t, len(firstKeys), found)
		}
	}()
	for i := range 12 {
		_, err := s.Register(ctx, Work{ID: fmt.Sprint("w", i)}, fakePeaks(uint64(10+i), 300), false)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	require.Eventually(t, func() bool { return !s.mergeRunning() }, 10*time.Second, 10*time.Millisecond)
	assert.Greater(t, s.Stats().SegmentMerges, int64(1), "merged in the background")
	assert.Equal(t, truth(t, s), allPostings(t, s))
}

// TestCloseStopsMerge: Close returns while a merge is wanted or running,
// and leaves nothing running.
func TestCloseStopsMerge(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Params: fingerprint.DefaultAudioParams(), SegmentMergeKeys: 1})
	require.NoError(t, err)
	_, err = s.LoadPostings(ctx)
	require.NoError(t, err)
	_, err = s.Register(ctx, Work{ID: "a"}, fakePeaks(1, 300), false)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.False(t, s.mergeRunning())
}

// TestPostingsSegmentBudget: a segment cut at its memory budget holds the
// first keys' lists, and the store still serves every list (the rest from
// Badger).
func TestPostingsSegmentBudget(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Params: fingerprint.DefaultAudioParams(), PostingsMemoryBytes: 64 << 10})
	require.NoError(t, err)
	defer s.Close()
	for i := range 4 {
		_, err := s.Register(ctx, Work{ID: fmt.Sprint("w", i)}, fakePeaks(uint64(i), 600), false)
		require.NoError(t, err)
	}
	want := truth(t, s)
	n, err := s.LoadPostings(ctx)
	require.NoError(t, err)
	st := s.Stats()
	assert.False(t, st.SegmentComplete)
	assert.Positive(t, n)
	assert.Less(t, n, len(want))
	assert.LessOrEqual(t, st.SegmentBytes, int64(64<<10))
	assert.Equal(t, want, allPostings(t, s))
}
