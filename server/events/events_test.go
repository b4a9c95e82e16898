package events

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLogAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	require.NoError(t, err)
	for i := range 5 {
		e, err := l.Append(PlayStarted, "mon-1", "", map[string]int{"n": i})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), e.ID)
	}
	_, err = l.Append(MonitorState, "mon-2", "", map[string]string{"state": "playing"})
	require.NoError(t, err)
	evs, seen, err := l.Read(2, 10, Filter{Monitors: []string{"mon-1"}, All: true}.Match)
	require.NoError(t, err)
	require.Equal(t, uint64(6), seen, "read on past the events it left out")
	require.Len(t, evs, 3)
	require.Equal(t, uint64(3), evs[0].ID)
	require.JSONEq(t, `{"n":2}`, string(evs[0].Data))
	evs, seen, err = l.Read(0, 2, nil)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, uint64(2), seen)
	require.NoError(t, l.Close())

	// A torn last line: the process died writing it.
	path := filepath.Join(dir, "events.jsonl")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"id":7,"type":"play.sta`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	l, err = Open(dir)
	require.NoError(t, err)
	defer l.Close()
	require.Equal(t, uint64(6), l.Last())
	e, err := l.Append(PlayEnded, "mon-1", "", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(7), e.ID, "the torn line is cut, its id given again")
	evs, _, err = l.Read(6, 10, nil)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, PlayEnded, evs[0].Type)
}

func TestLogWait(t *testing.T) {
	l, err := Open(t.TempDir())
	require.NoError(t, err)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, l.Wait(ctx, 0), context.DeadlineExceeded)
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), 0) }()
	time.Sleep(10 * time.Millisecond)
	_, err = l.Append(PlayStarted, "", "", nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
}

// receiver is a webhook receiver that fails its first fails requests,
// checks every signature and keeps what it took, by idempotency key.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	fails  int
	calls  int
	got    map[string]int
	order  []uint64
	badSig int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.calls++
	if Verify(rv.secret, r.Header.Get("Cueprint-Signature"), body, time.Now(), 5*time.Minute) != nil {
		rv.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rv.fails > 0 {
		rv.fails--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var e Event
	require.NoError(rv.t, json.Unmarshal(body, &e))
	require.Equal(rv.t, Key(e), r.Header.Get("Idempotency-Key"))
	require.Equal(rv.t, e.Type, r.Header.Get("Cueprint-Event"))
	if rv.got[Key(e)] == 0 {
		rv.order = append(rv.order, e.ID)
	}
	rv.got[Key(e)]++
}

func (rv *receiver) snapshot() (map[string]int, []uint64, int) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	got := map[string]int{}
	for k, v := range rv.got {
		got[k] = v
	}
	return got, append([]uint64(nil), rv.order...), rv.calls
}

// TestHookRetriesAndResumes: a receiver that fails three times then
// succeeds gets every event of the hook's types once, in order, each
// signed; after the daemon stops and opens again the hook goes on from
// where it was, without sending anything twice.
func TestHookRetriesAndResumes(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(filepath.Join(dir, "events"))
	require.NoError(t, err)
	_, err = l.Append(PlayStarted, "m1", "", nil) // before the hook: not sent
	require.NoError(t, err)
	rv := &receiver{t: t, secret: "s3cret", fails: 3, got: map[string]int{}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	fast := HookOptions{Backoff: func(int) time.Duration { return 5 * time.Millisecond }}
	hooks, err := OpenHooks(filepath.Join(dir, "hooks"), l, fast)
	require.NoError(t, err)
	_, err = hooks.Add(Hook{URL: "ftp://x", Secret: "a"})
	require.ErrorIs(t, err, ErrInvalidHook)
	_, err = hooks.Add(Hook{URL: srv.URL, Filter: Filter{Types: []string{"play.paused"}}})
	require.ErrorIs(t, err, ErrInvalidHook)
	hook, err := hooks.Add(Hook{URL: srv.URL, Secret: "s3cret", Filter: Filter{Types: []string{PlayStarted, PlayEnded}, All: true}})
	require.NoError(t, err)
	for range 3 {
		_, err = l.Append(PlayStarted, "m1", "", map[string]string{"work": "W1"})
		require.NoError(t, err)
		_, err = l.Append(MonitorState, "m1", "", nil) // not of its types
		require.NoError(t, err)
		_, err = l.Append(PlayEnded, "m1", "", map[string]string{"work": "W1"})
		require.NoError(t, err)
	}
	want := []uint64{2, 4, 5, 7, 8, 10}
	require.Eventually(t, func() bool { _, order, _ := rv.snapshot(); return len(order) == len(want) }, 5*time.Second, 5*time.Millisecond)
	got, order, calls := rv.snapshot()
	require.Equal(t, want, order)
	for k, n := range got {
		require.Equal(t, 1, n, "event %s taken %d times", k, n)
	}
	require.Equal(t, len(want)+3, calls, "three failed attempts, then one each")
	require.Zero(t, rv.badSig)
	require.Eventually(t, func() bool { st, _ := hooks.Get(hook.ID); return st.DeliveredThrough == 10 }, 5*time.Second, 5*time.Millisecond)
	st, err := hooks.Get(hook.ID)
	require.NoError(t, err)
	require.Empty(t, st.Secret, "the secret is not shown again")
	require.Equal(t, int64(6), st.Delivered)
	hooks.Close()
	require.NoError(t, l.Close())

	// The daemon again: new events go out, old ones do not.
	l, err = Open(filepath.Join(dir, "events"))
	require.NoError(t, err)
	defer l.Close()
	hooks, err = OpenHooks(filepath.Join(dir, "hooks"), l, fast)
	require.NoError(t, err)
	defer hooks.Close()
	_, err = l.Append(PlayEnded, "m2", "", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, order, _ := rv.snapshot(); return len(order) == len(want)+1 }, 5*time.Second, 5*time.Millisecond)
	got, _, _ = rv.snapshot()
	for k, n := range got {
		require.Equal(t, 1, n, "event %s taken %d times", k, n)
	}
	require.Len(t, hooks.List(), 1)
	require.NoError(t, hooks.Remove(hook.ID))
	require.ErrorIs(t, hooks.Remove(hook.ID), ErrHookNotFound)
	require.Empty(t, hooks.List())
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":1}`)
	h := Sign("k", now, body)
	require.NoError(t, Verify("k", h, body, now.Add(time.Minute), 5*time.Minute))
	require.Error(t, Verify("other", h, body, now, 5*time.Minute))
	require.Error(t, Verify("k", h, []byte(`{"id":2}`), now, 5*time.Minute))
	require.Error(t, Verify("k", h, body, now.Add(time.Hour), 5*time.Minute), "too old")
	require.Error(t, Verify("k", "v1=abc", body, now, 5*time.Minute))
}
