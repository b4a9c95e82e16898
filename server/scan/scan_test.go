package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

var errMissing = errors.New("no such file")

// fakeMatch "finds" work W<n> at 10-40 s in item n (n even), fails
// items whose media is "missing", and counts its calls per item.
type fakeMatch struct {
	mu    sync.Mutex
	calls map[string]int
	// block, when set, holds every call until closed.
	block chan struct{}
	seen  atomic.Int32
}

func (f *fakeMatch) match(ctx context.Context, it api.ScanItem) (float64, []match.Segment, error) {
	f.mu.Lock()
	f.calls[it.ItemID]++
	f.mu.Unlock()
	f.seen.Add(1)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	if it.Media == "missing" {
		return 0, nil, errMissing
	}
	var n int
	fmt.Sscanf(it.ItemID, "i%d", &n)
	if n%2 == 1 {
		return 60, nil, nil
	}
	w := index.Work{ID: fmt.Sprintf("W%d", n), DurationS: 100, Owners: []index.Owner{{Name: "O", Share: 100}}}
	return 60, []match.Segment{{Work: w, QueryStart: 10, QueryEnd: 40, RefStart: 0, RefEnd: 30, Confidence: 1, Speed: 1, Modality: "audio"}}, nil
}

func classify(err error) (string, string) {
	if errors.Is(err, errMissing) {
		return "media_not_found", err.Error()
	}
	return "internal", err.Error()
}

func items(n int) []api.ScanItem {
	out := make([]api.ScanItem, n)
	for i := range out {
		out[i] = api.ScanItem{ItemID: fmt.Sprintf("i%d", i+1), Media: fmt.Sprintf("m%d.mp3", i+1)}
	}
	out[2].Media = "missing"
	return out
}

func open(t *testing.T, dir string, f *fakeMatch) *Manager {
	m, err := Open(Config{Dir: dir, Match: f.match, Classify: classify, Workers: 3})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestScanRunsToTheEnd(t *testing.T) {
	f := &fakeMatch{calls: map[string]int{}}
	m := open(t, t.TempDir(), f)
	s, created, err := m.Create(Request{Items: items(20), Settings: DefaultSettings()})
	require.NoError(t, err)
	require.True(t, created)
	s, err = m.Run(context.Background(), s.ID, nil)
	require.NoError(t, err)
	require.Equal(t, StateDone, s.State)
	require.Equal(t, 20, s.Done)
	require.Equal(t, 1, s.Failed)
	require.Equal(t, 10, s.Usages)
	require.Equal(t, "media_not_found", s.Errors[0].Code)
	require.Equal(t, "i3", s.Errors[0].ItemID)
	// The same request is the same scan, done already.
	again, created, err := m.Create(Request{Items: items(20), Settings: DefaultSettings()})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, s.ID, again.ID)
	_, err = m.Run(context.Background(), s.ID, nil)
	require.NoError(t, err)
	for id, n := range f.calls {
		require.Equal(t, 1, n, "item %s matched %d times", id, n)
	}
}

// TestScanResumes stops a scan mid-way (as a crash would: its process
// gone, the log as it was), cuts its log's last line in half, reopens
// the store and resumes: every item is counted once, the usage lines
// are those of an uninterrupted scan.
func TestScanResumes(t *testing.T) {
	ref := &fakeMatch{calls: map[string]int{}}
	rm := open(t, t.TempDir(), ref)
	rs, _, err := rm.Create(Request{Items: items(30), Settings: DefaultSettings()})
	require.NoError(t, err)
	_, err = rm.Run(context.Background(), rs.ID, nil)
	require.NoError(t, err)
	want, _, err := rm.Usages(Filter{All: true}, "", 1000)
	require.NoError(t, err)

	dir := t.TempDir()
	f := &fakeMatch{calls: map[string]int{}}
	m, err := Open(Config{Dir: dir, Match: f.match, Classify: classify, Workers: 3})
	require.NoError(t, err)
	s, _, err := m.Create(Request{Items: items(30), Settings: DefaultSettings()})
	require.NoError(t, err)
	require.Equal(t, rs.ID, s.ID, "a scan's id is what it is, not where it ran")
	ctx, cancel := context.WithCancel(context.Background())
	_, err = m.Run(ctx, s.ID, func(p api.Scan) {
		if p.Done >= 12 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	m.Close()
	log := filepath.Join(dir, "scans", s.ID, "log.jsonl")
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 12)
	// Tear the last line: the process died writing it.
	require.NoError(t, os.WriteFile(log, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"+lines[len(lines)-1][:10]), 0o600))

	f2 := &fakeMatch{calls: map[string]int{}}
	m2 := open(t, dir, f2)
	require.Equal(t, []string{s.ID}, m2.Unfinished())
	got, err := m2.Get(s.ID)
	require.NoError(t, err)
	require.Equal(t, len(lines)-1, got.Done, "the torn line's item is not done")
	got, err = m2.Run(context.Background(), s.ID, nil)
	require.NoError(t, err)
	require.Equal(t, StateDone, got.State)
	require.Equal(t, 30, got.Done)
	require.Equal(t, 30-(len(lines)-1), len(f2.calls), "only the items not done are matched again")
	for id, n := range f2.calls {
		require.Equal(t, 1, n, "item %s", id)
	}
	use, _, err := m2.Usages(Filter{All: true}, "", 1000)
	require.NoError(t, err)
	require.Equal(t, want, use)
}

func TestCancelAndResume(t *testing.T) {
	f := &fakeMatch{calls: map[string]int{}, block: make(chan struct{})}
	m := open(t, t.TempDir(), f)
	s, _, err := m.Create(Request{Items: items(10), Settings: DefaultSettings()})
	require.NoError(t, err)
	require.NoError(t, m.Start(s.ID))
	require.Eventually(t, func() bool { return f.seen.Load() >= 3 }, testTimeout, pollEvery)
	c, err := m.Cancel(s.ID)
	require.NoError(t, err)
	require.Equal(t, StateCancelled, c.State)
	require.NotNil(t, c.FinishedAt)
	require.ErrorIs(t, m.Delete("nope"), ErrNotFound)
	close(f.block)
	require.NoError(t, m.Start(s.ID))
	require.Eventually(t, func() bool { g, _ := m.Get(s.ID); return g.State == StateDone }, testTimeout, pollEvery)
	_, err = m.Cancel(s.ID)
	require.ErrorIs(t, err, ErrConflict)
	require.NoError(t, m.Delete(s.ID))
	require.Empty(t, m.List("", true))
}

func TestUsagesFilterAndPages(t *testing.T) {
	f := &fakeMatch{calls: map[string]int{}}
	m := open(t, t.TempDir(), f)
	its := items(40)
	for i := range its {
		its[i].PeriodStart, its[i].PeriodEnd = "2026-11-01", "2026-11-30"
	}
	its[3].PeriodStart, its[3].PeriodEnd = "2026-10-01", "2026-10-31"
	s, _, err := m.Create(Request{Items: its, Settings: DefaultSettings(), Tenant: "t1"})
	require.NoError(t, err)
	_, err = m.Run(context.Background(), s.ID, nil)
	require.NoError(t, err)
	var all []api.Usage
	after := ""
	for {
		page, next, err := m.Usages(Filter{Tenant: "t1"}, after, 7)
		require.NoError(t, err)
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	require.Len(t, all, 20)
	seen := map[string]bool{}
	for _, u := range all {
		require.False(t, seen[u.ID])
		seen[u.ID] = true
	}
	other, _, err := m.Usages(Filter{Tenant: "t2"}, "", 100)
	require.NoError(t, err)
	require.Empty(t, other, "another tenant sees none")
	oct, _, err := m.Usages(Filter{Tenant: "t1", From: "2026-10-01", To: "2026-10-31"}, "", 100)
	require.NoError(t, err)
	require.Len(t, oct, 1)
	require.Equal(t, "i4", oct[0].ItemID)
	w, _, err := m.Usages(Filter{All: true, WorkID: "W10"}, "", 100)
	require.NoError(t, err)
	require.Len(t, w, 1)
	_, _, err = m.Usages(Filter{All: true, From: "November"}, "", 100)
	require.ErrorIs(t, err, ErrInvalid)
	_, _, err = m.Usages(Filter{All: true}, "bogus", 100)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestCreateRefuses(t *testing.T) {
	m := open(t, "", &fakeMatch{calls: map[string]int{}})
	dup := items(3)
	dup[2].ItemID = "i1"
	for name, r := range map[string]Request{
		"duplicate id": {Items: dup, Settings: DefaultSettings()},
		"no items":     {Settings: DefaultSettings()},
		"kind":         {Kind: "radio", Items: items(3), Settings: DefaultSettings()},
		"name":         {Name: "a b", Items: items(3), Settings: DefaultSettings()},
		"settings":     {Items: items(3), Settings: api.ScanSettings{MinConfidence: 2}},
	} {
		_, _, err := m.Create(r)
		require.Error(t, err, name)
	}
}

// TestOwnersOfOtherTenants: a scan without AllOwners carries the owners
// of its own tenant's works only, as a match answer does.
func TestOwnersOfOtherTenants(t *testing.T) {
	for _, all := range []bool{false, true} {
		m := open(t, "", &fakeMatch{calls: map[string]int{}})
		s, _, err := m.Create(Request{Items: items(4), Settings: DefaultSettings(), Tenant: "t1", AllOwners: all})
		require.NoError(t, err)
		_, err = m.Run(context.Background(), s.ID, nil)
		require.NoError(t, err)
		us, _, err := m.Usages(Filter{All: true}, "", 10)
		require.NoError(t, err)
		require.NotEmpty(t, us)
		for _, u := range us {
			require.Equal(t, all, len(u.Owners) > 0, "all owners %v", all)
		}
	}
}

// TestResultsFromFiles: a scan's items and usage lines are read back
// from its files, the same before and after the store is reopened; a
// results value keeps the items done when it was taken, however often
// it is read; a manager without a directory keeps its scans in a
// temporary one that Close removes.
func TestResultsFromFiles(t *testing.T) {
	dir := t.TempDir()
	f := &fakeMatch{calls: map[string]int{}, block: make(chan struct{})}
	m, err := Open(Config{Dir: dir, Match: f.match, Classify: classify, Workers: 1})
	require.NoError(t, err)
	its := items(12)
	its[5].Title, its[5].Extra = "five", map[string]string{"channel": "c5"}
	s, _, err := m.Create(Request{Items: its, Settings: DefaultSettings()})
	require.NoError(t, err)
	require.NoError(t, m.Start(s.ID))
	require.Eventually(t, func() bool { return f.seen.Load() >= 1 }, testTimeout, pollEvery)
	early, err := m.Results(s.ID)
	require.NoError(t, err)
	close(f.block)
	require.Eventually(t, func() bool { g, _ := m.Get(s.ID); return g.State == StateDone }, testTimeout, pollEvery)
	collect := func(r Results) []ItemResult {
		var out []ItemResult
		require.NoError(t, r.Each(func(it ItemResult) error { out = append(out, it); return nil }))
		return out
	}
	for _, it := range collect(early) {
		require.False(t, it.Done, "item %d was not done when the results were taken", it.Line)
	}
	r, err := m.Results(s.ID)
	require.NoError(t, err)
	got := collect(r)
	require.Len(t, got, 12)
	for i, it := range got {
		require.Equal(t, i+1, it.Line)
		require.Equal(t, its[i], it.Item)
		require.True(t, it.Done)
		require.Equal(t, i == 2, it.Err != nil, "item %d", i+1)
		require.Equal(t, (i+1)%2 == 0, len(it.Usages) == 1, "item %d", i+1)
	}
	require.Equal(t, "media_not_found", got[2].Err.Code)
	m.Close()

	m2 := open(t, dir, &fakeMatch{calls: map[string]int{}})
	r2, err := m2.Results(s.ID)
	require.NoError(t, err)
	require.Equal(t, got, collect(r2))

	m3, err := Open(Config{Match: f.match, Classify: classify, Workers: 1})
	require.NoError(t, err)
	tmp := m3.tmpDir
	require.DirExists(t, tmp)
	s3, _, err := m3.Create(Request{Items: items(3), Settings: DefaultSettings()})
	require.NoError(t, err)
	_, err = m3.Run(context.Background(), s3.ID, nil)
	require.NoError(t, err)
	m3.Close()
	require.NoDirExists(t, tmp)
}
