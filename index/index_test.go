package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// fakePeaks returns a deterministic print of n peaks.
func fakePeaks(seed uint64, n int) []fingerprint.Peak {
	rng := rand.New(rand.NewPCG(seed, 1))
	peaks := make([]fingerprint.Peak, n)
	t := float32(0)
	for i := range peaks {
		t += fingerprint.QuantizeTime(float32(rng.IntN(40)) / 16)
		peaks[i] = fingerprint.Peak{
			Time:     t,
			Pitch:    fingerprint.QuantizePitch(float32(rng.Float64() * 44)),
			Strength: fingerprint.QuantizeStrength(float32(rng.Float64() * 4)),
		}
	}
	return peaks
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	return s
}

// postingsOf returns the live works of one hash, straight from the store.
func postingsOf(t *testing.T, s *Store, h uint32) []uint32 {
	var got []uint32
	require.NoError(t, s.Postings(context.Background(), []uint32{h}, func(_ uint32, it *PostingsIter) {
		for it.Next() {
			w, _ := it.At()
			got = append(got, w)
		}
	}))
	return got
}

// rawPostings returns every work number in a hash's postings, live or not.
func rawPostings(t *testing.T, s *Store, h uint32) []uint32 {
	var pl postingList
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(postingsKey(h))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return decodePostings(v, &pl, nil) })
	})
	require.NoError(t, err)
	return pl.works
}

func TestRegisterGetListDelete(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	p := s.Params()

	peaksA, peaksB := fakePeaks(1, 400), fakePeaks(2, 400)
	a, err := s.Register(ctx, Work{ID: "A-1", Title: "First", ISRC: "USRC17607839", Owners: []Owner{{Name: "X", Share: 60}, {Name: "Y", Share: 40}}}, peaksA, false)
	require.NoError(t, err)
	assert.NotZero(t, a.Num)
	assert.Equal(t, 400, a.Peaks)
	_, err = s.Register(ctx, Work{ID: "B-2", Title: "Second"}, peaksB, false)
	require.NoError(t, err)

	got, err := s.Get("A-1")
	require.NoError(t, err)
	assert.Equal(t, "First", got.Title)
	assert.Equal(t, []Owner{{Name: "X", Share: 60}, {Name: "Y", Share: 40}}, got.Owners)
	byNum, err := s.GetNum(a.Num)
	require.NoError(t, err)
	assert.Equal(t, "A-1", byNum.ID)
	stored, err := s.Peaks(a.Num)
	require.NoError(t, err)
	assert.Equal(t, peaksA, stored)

	var ids []string
	require.NoError(t, s.List("", func(w Work) bool { ids = append(ids, w.ID); return true }))
	assert.Equal(t, []string{"A-1", "B-2"}, ids)
	ids = nil
	require.NoError(t, s.List("A-1", func(w Work) bool { ids = append(ids, w.ID); return true }))
	assert.Equal(t, []string{"B-2"}, ids, "paging after an ID")

	_, err = s.Register(ctx, Work{ID: "A-1"}, peaksB, false)
	assert.ErrorIs(t, err, ErrExists)

	h := p.Landmarks(peaksA)[0].Hash
	assert.Contains(t, postingsOf(t, s, h), a.Num)

	require.NoError(t, s.Delete(ctx, "A-1"))
	_, err = s.Get("A-1")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.NotContains(t, postingsOf(t, s, h), a.Num)
	assert.NotContains(t, rawPostings(t, s, h), a.Num, "postings purged, not just hidden")
	assert.ErrorIs(t, s.Delete(ctx, "A-1"), ErrNotFound)
	assert.Equal(t, uint64(1), s.Live())
}

func TestReplace(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	old, err := s.Register(ctx, Work{ID: "W", Title: "old"}, fakePeaks(1, 300), false)
	require.NoError(t, err)
	nw, err := s.Register(ctx, Work{ID: "W", Title: "new"}, fakePeaks(2, 300), true)
	require.NoError(t, err)
	assert.NotEqual(t, old.Num, nw.Num, "numbers are never reused")
	got, _ := s.Get("W")
	assert.Equal(t, "new", got.Title)
	assert.False(t, s.IsLive(old.Num))
	h := s.Params().Landmarks(fakePeaks(1, 300))[0].Hash
	assert.NotContains(t, rawPostings(t, s, h), old.Num)
}

// TestRecoverInterrupted simulates kill -9 after each step of a
// registration and of a deletion: on reopen the work is wholly there or
// wholly gone, and no stray posting remains.
func TestRecoverInterrupted(t *testing.T) {
	ctx := context.Background()
	for _, stop := range []string{"after pending", "after postings", "during delete"} {
		t.Run(stop, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir)
			peaks := fakePeaks(3, 300)
			groups := groupKeys(audioKeys(s.Params(), peaks))
			var num uint32 = 77
			switch stop {
			case "after pending", "after postings":
				require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
					require.NoError(t, txn.Set(numKey(prefixPending, num), []byte{pendingRegister}))
					return txn.Set(numKey(prefixForward, num), fingerprint.AppendPeaks(nil, peaks))
				}))
				if stop == "after postings" {
					require.NoError(t, s.updatePostings(ctx, num, groups))
				}
			case "during delete":
				w, err := s.Register(ctx, Work{ID: "D"}, peaks, false)
				require.NoError(t, err)
				num = w.Num
				require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
					require.NoError(t, txn.Delete(workKey("", "D")))
					require.NoError(t, txn.Delete(numKey(prefixNum, num)))
					return txn.Set(numKey(prefixPending, num), []byte{pendingDelete})
				}))
			}
			require.NoError(t, s.Close()) // the "crash": nothing else runs

			s = openTest(t, dir)
			defer s.Close()
			assert.False(t, s.IsLive(num))
			assert.Empty(t, rawPostings(t, s, groups[0].hash))
			_, err := s.Peaks(num)
			assert.ErrorIs(t, err, ErrNotFound)
			assert.Equal(t, uint64(0), s.Live())
		})
	}
}

func TestParamsMismatch(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	require.NoError(t, s.Close())
	p := fingerprint.DefaultAudioParams()
	p.FanOut = 3
	_, err := Open(context.Background(), dir, Options{Params: p})
	assert.ErrorIs(t, err, ErrParamsMismatch)
}

func TestWorkValidate(t *testing.T) {
	tests := []struct {
		name string
		w    Work
		want string
	}{
		{"ok", Work{ID: "x", ISRC: "us-rc1-76-07839", ISWC: "T-034.524.680-1", EIDR: "10.5240/7791-8534-2C23-9030-8610-5"}, ""},
		{"no id", Work{}, "id is required"},
		{"control chars", Work{ID: "a\nb"}, "control characters"},
		{"bad isrc", Work{ID: "x", ISRC: "nope"}, "isrc"},
		{"bad iswc check digit", Work{ID: "x", ISWC: "T-034.524.680-2"}, "check digit"},
		{"bad isan", Work{ID: "x", ISAN: "zz"}, "isan"},
		{"shares over 100", Work{ID: "x", Owners: []Owner{{Name: "a", Share: 70}, {Name: "b", Share: 40}}}, "more than 100"},
		{"owner without name", Work{ID: "x", Owners: []Owner{{Share: 10}}}, "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.w.Normalize()
			err := tc.w.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidWork)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestPostingsEncoding(t *testing.T) {
	long := postingList{}
	for w := uint32(100); w < 100+shortMaxWorks+1; w++ {
		long.works = append(long.works, w*w)
		long.times = append(long.times, []uint32{w % 7, 9000 + w})
	}
	short := postingList{works: long.works[:shortMaxWorks], times: long.times[:shortMaxWorks]}
	tests := []struct {
		name string
		pl   postingList
		form byte
		size int // encoded bytes, 0 to skip
	}{
		{"one time inline", postingList{works: []uint32{7}, times: [][]uint32{{12345}}}, postingsSingle, 7},
		{"one work, several times", postingList{works: []uint32{7}, times: [][]uint32{{1, 5, 900}}}, postingsShort, 8},
		// 1+1 (works) + 1+1+1 (0: head, 0) + 1+1+1+1 (2: head, count, 3, 1) + 3+1 (70000) + 5+3 (1<<31, 1<<30)
		{"few works, far apart", postingList{works: []uint32{0, 2, 70000, 1 << 31}, times: [][]uint32{{0}, {3, 4}, {9}, {1 << 30}}}, postingsShort, 22},
		{"work number 2^32-1", postingList{works: []uint32{5, 1<<32 - 1}, times: [][]uint32{{1}, {2}}}, postingsShort, 0},
		{"longest short list", short, postingsShort, 0},
		{"long list: Roaring", long, postingsList, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := encodePostings(&tc.pl)
			assert.Equal(t, tc.form, v[0], "form")
			if tc.size > 0 {
				assert.Len(t, v, tc.size)
			}
			var got postingList
			require.NoError(t, decodePostings(v, &got, nil))
			assert.Equal(t, tc.pl, got)
			keep := roaring.BitmapOf(tc.pl.works[0])
			require.NoError(t, decodePostings(v, &got, keep))
			assert.Equal(t, tc.pl.works[:1], got.works, "filtered by the live set")
		})
	}
}

// TestDecodeShortRejects: a short list that is cut, overflows or runs on
// is an error, never a panic or a silently wrong list.
func TestDecodeShortRejects(t *testing.T) {
	good := encodePostings(&postingList{works: []uint32{3, 9}, times: [][]uint32{{1, 2, 3}, {4}}})
	require.Equal(t, byte(postingsShort), good[0])
	for _, tc := range []struct {
		name string
		v    []byte
	}{
		{"no work count", []byte{postingsShort}},
		{"more works than bytes", []byte{postingsShort, 9, 0, 0}},
		{"cut", good[:len(good)-1]},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"work number past 2^32-1", []byte{postingsShort, 2, 0xfe, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0}},
		{"time past 2^32-1", []byte{postingsShort, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeFlat(tc.v, nil)
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

// TestFormatUpgrade: a store whose meta record says version 1 to 5 is
// refused until migrated, then opens, keeps its works and is marked
// current; an unknown version is refused.
func TestFormatUpgrade(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	for _, tc := range []struct {
		name string
		meta func(video uint64) []byte
		err  error
	}{
		{"version 1", func(uint64) []byte { return oldMeta(FormatV1, p.Hash(), 0)[:16] }, nil},
		{"version 2", func(video uint64) []byte { return oldMeta(FormatV2, p.Hash(), video) }, nil},
		{"version 3", func(video uint64) []byte { return oldMeta(FormatV3, p.Hash(), video) }, nil},
		{"version 4", func(video uint64) []byte { return oldMeta(FormatV4, p.Hash(), video) }, nil},
		{"version 5", func(video uint64) []byte { return oldMeta(FormatV5, p.Hash(), video) }, nil},
		{"version 99", func(video uint64) []byte { return oldMeta(99, p.Hash(), video) }, ErrUnsupportedFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir)
			_, err := s.Register(context.Background(), Work{ID: "w1"}, fakePeaks(1, 300), false)
			require.NoError(t, err)
			video := s.video.Hash()
			require.NoError(t, s.db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey(), tc.meta(video)) }))
			require.NoError(t, s.Close())

			s, err = Open(context.Background(), dir, Options{Params: p})
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.ErrorIs(t, err, ErrNeedsMigration)
			_, err = Migrate(context.Background(), dir, Options{Params: p}, nil)
			require.NoError(t, err)
			s, err = Open(context.Background(), dir, Options{Params: p})
			require.NoError(t, err)
			defer func() { require.NoError(t, s.Close()) }()
			_, err = s.Get("w1")
			require.NoError(t, err)
			assert.Equal(t, metaRecord(p.Hash(), video), readMeta(t, s))
		})
	}
}

// readMeta returns the store's meta record.
func readMeta(t *testing.T, s *Store) []byte {
	t.Helper()
	var meta []byte
	require.NoError(t, s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey())
		if err == nil {
			meta, err = item.ValueCopy(nil)
		}
		return err
	}))
	return meta
}

func oldMeta(ver uint32, audio, video uint64) []byte {
	v := metaRecord(audio, video)
	binary.BigEndian.PutUint32(v[4:], ver)
	return v
}

// FuzzDecodePostings: arbitrary bytes never panic, and whatever decodes
// re-encodes to the same bytes.
func FuzzDecodePostings(f *testing.F) {
	f.Add(encodePostings(&postingList{works: []uint32{7}, times: [][]uint32{{12}}}))
	f.Add(encodePostings(&postingList{works: []uint32{1, 9}, times: [][]uint32{{1, 2}, {3}}}))
	f.Add(encodePostings(&postingList{works: []uint32{4, 5, 1 << 20}, times: [][]uint32{{1}, {3, 8, 9}, {0}}}))
	f.Add([]byte{2, 0})
	f.Add([]byte{3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pl postingList
		if err := decodePostings(b, &pl, nil); err != nil {
			return
		}
		var again postingList
		require.NoError(t, decodePostings(encodePostings(&pl), &again, nil))
		require.Equal(t, pl, again)
	})
}

// TestPostingsOrderWithPartialCache: Postings reports hashes in ascending
// order whether they come from the cache or from Badger. Reporting cached
// hashes first made the matcher skip most of a variant search's hashes
// (speed changes failed on a cold store).
func TestPostingsOrderWithPartialCache(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	peaks := fakePeaks(9, 600)
	_, err := s.Register(ctx, Work{ID: "O"}, peaks, false)
	require.NoError(t, err)
	groups := groupKeys(audioKeys(s.Params(), peaks))
	var all []uint32
	for _, g := range groups {
		all = append(all, g.hash)
	}
	require.Greater(t, len(all), 100)
	// Warm every third hash only.
	var some []uint32
	for i := 0; i < len(all); i += 3 {
		some = append(some, all[i])
	}
	require.NoError(t, s.Postings(ctx, some, func(uint32, *PostingsIter) {}))
	var got []uint32
	require.NoError(t, s.Postings(ctx, all, func(h uint32, _ *PostingsIter) { got = append(got, h) }))
	assert.Equal(t, all, got, "every hash, in ascending order")
}

// TestCompact: works that share their hashes rewrite the same postings
// again and again, the older versions left in other tables; Compact drops
// the superseded versions and keeps every work's postings.
func TestCompact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	peaks := fakePeaks(7, 1000)
	var nums []uint32
	for i := range 30 {
		w, err := s.Register(ctx, Work{ID: fmt.Sprintf("W-%02d", i)}, peaks, false)
		require.NoError(t, err)
		nums = append(nums, w.Num)
		if i%5 == 4 { // each close writes a table: versions on several
			require.NoError(t, s.Close())
			s = openTest(t, dir)
		}
	}
	require.NoError(t, s.Close())
	before := DirSize(dir)

	s = openTest(t, dir)
	require.NoError(t, s.Compact(ctx))
	h := s.Params().Landmarks(peaks)[0].Hash
	assert.ElementsMatch(t, nums, postingsOf(t, s, h))
	require.NoError(t, s.Close())
	after := DirSize(dir)
	t.Logf("store %d bytes before compaction, %d after", before, after)
	assert.Less(t, after, before/2, "superseded postings dropped")

	s = openTest(t, dir)
	defer s.Close()
	assert.ElementsMatch(t, nums, postingsOf(t, s, h), "intact after reopening")
	assert.Equal(t, uint64(30), s.Live())
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Compact(ctx), ErrClosed)
}

// TestTenantNamespaces: tenants register the same ID independently, and
// one tenant's work is not found, listed or deleted under another.
func TestTenantNamespaces(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	for _, w := range []Work{{ID: "A-1", Tenant: "acme"}, {ID: "A-1", Tenant: "beta"}, {ID: "A-1"}, {ID: "A-2", Tenant: "acme"}} {
		_, err := s.Register(ctx, w, fakePeaks(uint64(len(w.Tenant)), 300), false)
		require.NoError(t, err, "%+v", w)
	}
	_, err := s.Register(ctx, Work{ID: "A-1", Tenant: "acme"}, fakePeaks(9, 300), false)
	require.ErrorIs(t, err, ErrExists)
	a, err := s.GetIn("acme", "A-1")
	require.NoError(t, err)
	b, err := s.GetIn("beta", "A-1")
	require.NoError(t, err)
	assert.NotEqual(t, a.Num, b.Num)
	_, err = s.GetIn("beta", "A-2")
	require.ErrorIs(t, err, ErrNotFound)
	got, err := s.GetNum(b.Num)
	require.NoError(t, err)
	assert.Equal(t, "beta", got.Tenant)

	var ids []string
	require.NoError(t, s.ListTenant("acme", "", func(w Work) bool { ids = append(ids, w.Tenant+"/"+w.ID); return true }))
	assert.Equal(t, []string{"acme/A-1", "acme/A-2"}, ids)
	ids = nil
	require.NoError(t, s.ListTenant("", "", func(w Work) bool { ids = append(ids, w.Tenant+"/"+w.ID); return true }))
	assert.Equal(t, []string{"/A-1"}, ids)
	ids = nil
	require.NoError(t, s.List("", func(w Work) bool { ids = append(ids, Cursor(w)); return len(ids) < 2 }))
	require.Len(t, ids, 2)
	require.NoError(t, s.List(ids[1], func(w Work) bool { ids = append(ids, Cursor(w)); return true }))
	assert.ElementsMatch(t, []string{"/A-1", "acme/A-1", "acme/A-2", "beta/A-1"}, ids)

	require.ErrorIs(t, s.DeleteChecked(ctx, "beta", "A-2", nil), ErrNotFound)
	require.NoError(t, s.DeleteChecked(ctx, "beta", "A-1", nil))
	_, err = s.GetIn("acme", "A-1")
	require.NoError(t, err)
}

// TestScopeWorkKeysUpgrade: a version 4 store, whose tenants' works are
// keyed by ID alone, is moved to tenant-scoped keys when opened.
func TestScopeWorkKeysUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := fingerprint.DefaultAudioParams()
	s := openTest(t, dir)
	w, err := s.Register(ctx, Work{ID: "T-1", Tenant: "acme"}, fakePeaks(1, 300), false)
	require.NoError(t, err)
	_, err = s.Register(ctx, Work{ID: "C-1"}, fakePeaks(2, 300), false)
	require.NoError(t, err)
	video := s.video.Hash()
	// Rewrite as version 4 wrote it.
	require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(workKey("acme", "T-1"))
		require.NoError(t, err)
		rec, err := item.ValueCopy(nil)
		require.NoError(t, err)
		require.NoError(t, txn.Delete(workKey("acme", "T-1")))
		require.NoError(t, txn.Set(workKey("", "T-1"), rec))
		require.NoError(t, txn.Set(numKey(prefixNum, w.Num), []byte("T-1")))
		return txn.Set(metaKey(), oldMeta(FormatV4, p.Hash(), video))
	}))
	require.NoError(t, s.Close())

	_, err = Migrate(ctx, dir, Options{Params: p}, nil)
	require.NoError(t, err)
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.GetIn("acme", "T-1")
	require.NoError(t, err)
	assert.Equal(t, w.Num, got.Num)
	_, err = s.Get("T-1")
	require.ErrorIs(t, err, ErrNotFound)
	got, err = s.GetNum(w.Num)
	require.NoError(t, err)
	assert.Equal(t, "T-1", got.ID)
	_, err = s.Get("C-1")
	require.NoError(t, err, "works of no tenant stay where they are")
}

// TestOpenAfterKillDuringOpen: a process killed while Badger created a
// memtable's file leaves it empty; the store opens all the same, with
// every work.
func TestOpenAfterKillDuringOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	_, err := s.Register(context.Background(), Work{ID: "a"}, fakePeaks(1, 500), false)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o600))
	s = openTest(t, dir)
	defer s.Close()
	_, err = s.Get("a")
	require.NoError(t, err)
}
