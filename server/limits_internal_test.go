package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueuedCountsTicketsOnly: work without an admission ticket (bulk
// jobs, streams) never counts as queued, so the gauge cannot go below
// zero; an admitted request counts while it waits, not while it works.
func TestQueuedCountsTicketsOnly(t *testing.T) {
	s, _ := newTestServer(t)
	l := s.limit
	queued := func() float64 { return testutil.ToFloat64(s.metrics.queued) }
	require.NoError(t, l.do(context.Background(), func() error {
		assert.Equal(t, 0.0, queued(), "bulk work is not queued")
		return nil
	}))
	leave, err := l.enter()
	require.NoError(t, err)
	assert.Equal(t, 1.0, queued())
	require.NoError(t, l.do(withTicket(context.Background()), func() error {
		assert.Equal(t, 0.0, queued(), "working, not queued")
		return nil
	}))
	assert.Equal(t, 1.0, queued())
	leave()
	assert.Equal(t, 0.0, queued())
}

// TestReceivePerKey: one key cannot take every receiving slot, and a
// slot given back is free again.
func TestReceivePerKey(t *testing.T) {
	s, _ := newTestServer(t)
	l := newLimiter(Config{Workers: 1, MaxStreams: 2, MaxUploads: 3, MaxUploadsPerKey: 2, MaxStreamsPerKey: 1}, s.metrics)
	r1, err := l.receive("a")
	require.NoError(t, err)
	r2, err := l.receive("a")
	require.NoError(t, err)
	_, err = l.receive("a")
	require.ErrorIs(t, err, errKeyBusy)
	r3, err := l.receive("b")
	require.NoError(t, err)
	_, err = l.receive("c")
	require.ErrorIs(t, err, errBusy, "all slots taken")
	r1()
	r1() // twice is harmless
	r4, err := l.receive("c")
	require.NoError(t, err)
	for _, r := range []func(){r2, r3, r4} {
		r()
	}
	assert.Empty(t, l.uploadsPerKey)

	s1, err := l.stream("a")
	require.NoError(t, err)
	_, err = l.stream("a")
	require.ErrorIs(t, err, errKeyBusy)
	s2, err := l.stream("b")
	require.NoError(t, err)
	s1()
	s2()
	assert.Empty(t, l.streamsPerKey)
}

func TestDecodeJSONBody(t *testing.T) {
	type meta struct {
		ID    string   `json:"id"`
		Title string   `json:"title"`
		Tags  []string `json:"tags"`
		Sub   struct {
			A int `json:"a"`
		} `json:"sub"`
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"id":"x","title":"t"}`, true},
		{`  {"id":"x","title":"t"}` + "\n\t ", true},
		{`{"id":"x","tags":["id","id"],"sub":{"a":1}}`, true},
		{`{"id":"x","sub":{"a":1},"title":"a"}`, true},
		{`{"id":"x","id":"y"}`, false},
		{`{"id":"x","sub":{"a":1,"a":2}}`, false},
		{`{"id":"x","title":"t"} garbage`, false},
		{`{"id":"x"}{"id":"y"}`, false},
		{`{"id":"x","nope":1}`, false},
		{`{"id":`, false},
		{``, false},
	} {
		var m meta
		err := decodeJSONBody(strings.NewReader(tc.in), &m)
		assert.Equal(t, tc.ok, err == nil, "decodeJSONBody(%q) = %v", tc.in, err)
	}
}

// FuzzDecodeJSONBody: whatever the bytes, no panic; what is accepted has
// no duplicate key.
func FuzzDecodeJSONBody(f *testing.F) {
	f.Add([]byte(`{"id":"x","title":"t","owners":[{"name":"n","share":50}]}`))
	f.Add([]byte(`{"id":"x","id":"y"}`))
	f.Add([]byte(`[{"a":1},{"a":1}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v map[string]any
		if err := decodeJSONBody(strings.NewReader(string(b)), &v); err != nil {
			return
		}
		require.NoError(t, checkDuplicateKeys(b))
	})
}

// TestPacer: media up to the burst goes at once; past it, no faster than
// speed times real time. Only lower bounds on waiting are checked.
func TestPacer(t *testing.T) {
	p := newPacer(10, time.Second)
	start := time.Now()
	require.NoError(t, p.wait(context.Background(), 0.9))
	require.NoError(t, p.wait(context.Background(), 3)) // (3-1)/10 s from the start
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, p.wait(ctx, 1000), context.Canceled, "a cancelled stream does not wait")
}

// TestReload: limits change for the next request; what sizes the server
// at start keeps its value and is named; an invalid config changes
// nothing.
func TestReload(t *testing.T) {
	s, _ := newTestServer(t)
	before := *s.conf()
	cfg := before
	cfg.MaxUploadBytes = 4 << 20
	cfg.AllowRemoteURLs = true
	cfg.Workers = before.Workers + 3
	cfg.Listen = "0.0.0.0:1"
	fixed, err := s.Reload(cfg)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"workers", "listen"}, fixed)
	now := s.conf()
	assert.Equal(t, int64(4<<20), now.MaxUploadBytes)
	assert.True(t, now.AllowRemoteURLs)
	assert.Equal(t, before.Workers, now.Workers)
	assert.Equal(t, before.Listen, now.Listen)

	bad := *now
	bad.StreamSpeed = 0.5
	_, err = s.Reload(bad)
	require.Error(t, err)
	assert.Equal(t, now, s.conf(), "an invalid config changes nothing")
}
