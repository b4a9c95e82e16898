package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/client"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// request, stream, job or store left running after its server stopped.
func TestMain(m *testing.M) {
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	goleak.VerifyTestMain(m)
}

// env is a real server on a loopback port with keys of every role.
type env struct {
	url     string
	store   *index.Store
	keys    map[string]string // name -> secret
	ring    *auth.Ring
	stop    func()
	stopped chan error
}

func newEnv(t *testing.T, cfg server.Config) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := index.Open(ctx, dir, index.Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	ring, err := auth.Open(dir)
	require.NoError(t, err)
	e := &env{store: st, ring: ring, keys: map[string]string{}}
	for _, k := range []struct {
		name   string
		role   auth.Role
		tenant string
	}{
		{"admin", auth.Admin, "ops"}, {"labelA", auth.Registrar, "label-a"}, {"labelB", auth.Registrar, "label-b"},
		{"platform", auth.Matcher, "platform"}, {"monitor", auth.Monitor, "ops"},
	} {
		_, secret, err := ring.Create(k.role, k.tenant, k.name)
		require.NoError(t, err)
		e.keys[k.name] = secret
	}
	cfg.Listen = "127.0.0.1:0"
	srv, err := server.New(cfg, st, ring, prometheus.NewRegistry(), nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e.url = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	e.stopped = make(chan error, 1)
	go func() { e.stopped <- srv.Serve(sctx, ln) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-e.stopped
			st.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

// client returns a client with who's key whose every JSON answer is
// checked against the OpenAPI document (checkingTransport).
func (e *env) client(t *testing.T, who string) *client.Client {
	t.Helper()
	c, err := client.New(e.url, e.keys[who], newCheckingClient(t))
	require.NoError(t, err)
	return c
}

func tracks(t *testing.T, n int) []publicset.Track {
	t.Helper()
	out, err := publicset.Decodable(n, 90)
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	require.Len(t, out, n)
	return out
}

// clip renders an MP3 excerpt of a track.
func clip(t *testing.T, path string, startS, lengthS float64) []byte {
	t.Helper()
	b, _, err := degrade.Render(context.Background(), degrade.Excerpt{Path: path, StartS: startS, LengthS: lengthS},
		degrade.Condition{Name: "mp3", Codec: &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 96000}}, 1, nil)
	require.NoError(t, err)
	return b
}

func register(t *testing.T, c *client.Client, id, title, path string) *api.Work {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := c.Register(context.Background(), api.WorkMetadata{ID: id, Title: title, ISRC: "US-RC1-76-07839",
		Owners: []api.Owner{{Name: "Composer " + id, Role: "composer", Share: 50}, {Name: "Label", Role: "label", Share: 50}}}, f, "song.ogg", false)
	require.NoError(t, err)
	return w
}

func TestRegisterMatchDeleteFlow(t *testing.T) {
	trs := tracks(t, 3)
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	a, b, admin, platform := e.client(t, "labelA"), e.client(t, "labelB"), e.client(t, "admin"), e.client(t, "platform")

	w := register(t, a, "A-1", "First", trs[0].Path)
	assert.Equal(t, "label-a", w.Tenant)
	assert.Equal(t, "USRC17607839", w.ISRC)
	assert.InDelta(t, trs[0].DurationS, w.DurationS, 1)
	register(t, a, "A-2", "Second", trs[1].Path)
	register(t, b, "B-1", "Other label", trs[2].Path)

	// Same ID again: 409. Another tenant's ID is not taken: work IDs are
	// per tenant, so B's "A-1" is B's own work and A's is untouched.
	f, _ := os.Open(trs[0].Path)
	_, err := a.Register(ctx, api.WorkMetadata{ID: "A-1", Title: "again"}, f, "x.ogg", false)
	f.Close()
	assertAPIError(t, err, http.StatusConflict, "work_exists")
	f, _ = os.Open(trs[0].Path)
	bw, err := b.Register(ctx, api.WorkMetadata{ID: "A-1", Title: "B's own"}, f, "x.ogg", true)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, "label-b", bw.Tenant)
	aw, err := a.Work(ctx, "A-1")
	require.NoError(t, err)
	assert.Equal(t, "First", aw.Title)

	// A 10 s MP3 excerpt from 40 s into A-2.
	q := clip(t, trs[1].Path, 40, 10)
	res, err := platform.Match(ctx, bytes.NewReader(q))
	require.NoError(t, err)
	require.Len(t, res.Matches, 1, "%+v", res)
	m := res.Matches[0]
	assert.Equal(t, "A-2", m.ID)
	assert.Equal(t, "Second", m.Title)
	assert.InDelta(t, 40, m.RefStartS-m.QueryStartS, 0.2, "reference offset")
	assert.InDelta(t, 10, res.Query.DurationS, 0.1)
	assert.GreaterOrEqual(t, m.Confidence, 0.9)
	assert.InDelta(t, 1, m.Speed, 0.01)
	assert.Len(t, m.Owners, 2, "a matcher gets owners for attribution")

	// Another rights holder matching learns the identification, not the owners.
	res, err = b.Match(ctx, bytes.NewReader(q))
	require.NoError(t, err)
	require.Len(t, res.Matches, 1)
	assert.Equal(t, "A-2", res.Matches[0].ID)
	assert.Empty(t, res.Matches[0].Owners)
	assert.Equal(t, "USRC17607839", res.Matches[0].ISRC)

	// Tenants see only their own works: another tenant's ID answers as
	// an absent one does, word for word.
	_, err = b.Work(ctx, "A-2")
	assertAPIError(t, err, http.StatusNotFound, "work_not_found")
	_, errAbsent := b.Work(ctx, "A-9")
	var e1, e2 *client.Error
	require.ErrorAs(t, err, &e1)
	require.ErrorAs(t, errAbsent, &e2)
	assert.Equal(t, strings.ReplaceAll(e1.Message, "A-2", "X"), strings.ReplaceAll(e2.Message, "A-9", "X"))
	la, err := a.Works(ctx, client.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"A-1", "A-2"}, ids(la.Works))
	all, err := admin.Works(ctx, client.ListOptions{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"A-1", "A-2"}, ids(all.Works))
	next, err := admin.Works(ctx, client.ListOptions{After: all.Next})
	require.NoError(t, err)
	assert.Equal(t, []string{"A-1", "B-1"}, ids(next.Works), "second page: label-b's works")
	assert.Equal(t, "label-b", next.Works[0].Tenant)
	filtered, err := admin.Works(ctx, client.ListOptions{Title: "other"})
	require.NoError(t, err)
	assert.Equal(t, []string{"B-1"}, ids(filtered.Works))
	_, err = a.Works(ctx, client.ListOptions{Tenant: "label-b"})
	assertAPIError(t, err, http.StatusForbidden, "forbidden")

	// B cannot delete A's work; A can, and it is gone from results.
	assertAPIError(t, b.DeleteWork(ctx, "A-2"), http.StatusNotFound, "work_not_found")
	require.NoError(t, a.DeleteWork(ctx, "A-2"))
	res, err = platform.Match(ctx, bytes.NewReader(q))
	require.NoError(t, err)
	assert.Empty(t, res.Matches, "a deleted work is never matched")
	_, err = a.Work(ctx, "A-2")
	assertAPIError(t, err, http.StatusNotFound, "work_not_found")

	// Unregistered music: no match, 200.
	others := tracks(t, 6)[5]
	res, err = platform.Match(ctx, bytes.NewReader(clip(t, others.Path, 30, 10)))
	require.NoError(t, err)
	assert.Empty(t, res.Matches)
	assert.NotNil(t, res.Matches, "an empty list, not null")
}

func ids(ws []api.Work) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func assertAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *client.Error
	if assert.ErrorAs(t, err, &ae) {
		assert.Equal(t, status, ae.Status, "%v", err)
		assert.Equal(t, code, ae.Code, "%v", err)
		assert.NotEmpty(t, ae.Message)
	}
}

// post sends a raw request and decodes an error body, if any.
func post(t *testing.T, e *env, key, path, contentType string, body io.Reader) (int, api.ErrorResponse, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er api.ErrorResponse
	if resp.StatusCode >= 400 {
		require.NoError(t, json.Unmarshal(b, &er), "error body is JSON: %s", b)
		assert.NotEmpty(t, er.Error.Code)
		assert.NotEmpty(t, er.Error.Message)
	}
	return resp.StatusCode, er, b
}

func TestBadUploads(t *testing.T) {
	trs := tracks(t, 1)
	e := newEnv(t, server.Config{MaxUploadBytes: 2 << 20, MaxMediaDuration: 30 * time.Second})
	ctx := context.Background()
	key := e.keys["admin"]
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	good := clip(t, trs[0].Path, 20, 10)
	silence, err := media.EncodeAudio(ctx, make([]float32, 8000*5), 8000, media.Codec{Encoder: "pcm_s16le", Format: "wav"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"empty", nil, 422, "unsupported_media"},
		{"random bytes", random(64 << 10), 422, "unsupported_media"},
		{"text", bytes.Repeat([]byte("not media at all\n"), 200), 422, "unsupported_media"},
		{"truncated header", good[:60], 422, ""},
		{"oversize", random(3 << 20), 413, "upload_too_large"},
		{"too long", clip(t, trs[0].Path, 10, 40), 413, "media_too_long"},
		{"silence", silence, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, er, body := post(t, e, key, "/v1/match", "application/octet-stream", bytes.NewReader(tc.body))
			assert.Equal(t, tc.status, status, "%s", body)
			if tc.code != "" {
				assert.Equal(t, tc.code, er.Error.Code)
			}
			if status == 200 {
				assert.JSONEq(t, `{"query":{"path":"","duration_s":5},"matches":[]}`, string(body))
			}
		})
	}

	// Registration of bad media stores nothing.
	c := e.client(t, "admin")
	_, err = c.Register(ctx, api.WorkMetadata{ID: "bad", Title: "bad"}, bytes.NewReader(random(10000)), "x.mp3", false)
	assertAPIError(t, err, 422, "unsupported_media")
	_, err = c.Register(ctx, api.WorkMetadata{ID: "bad", Title: "bad"}, bytes.NewReader(good[:len(good)/2]), "half.mp3", false)
	if err != nil { // a cut MP3 has no declared duration to compare against; it may register what it holds
		assertAPIError(t, err, 422, "truncated_media")
	} else {
		require.NoError(t, c.DeleteWork(ctx, "bad"))
	}
	_, err = c.Register(ctx, api.WorkMetadata{ID: "", Title: "no id"}, bytes.NewReader(good), "x.mp3", false)
	assertAPIError(t, err, 400, "invalid_work")
	_, err = c.Register(ctx, api.WorkMetadata{ID: "x", Title: "t", ISRC: "nope"}, bytes.NewReader(good), "x.mp3", false)
	assertAPIError(t, err, 400, "invalid_work")
	status, er, _ := post(t, e, key, "/v1/works", "application/json", strings.NewReader("{}"))
	assert.Equal(t, 415, status)
	assert.Equal(t, "unsupported_media_type", er.Error.Code)
	assert.Zero(t, e.store.Live(), "nothing half-registered")

	// And the server still answers a good query.
	status, _, body := post(t, e, key, "/v1/match", "application/octet-stream", bytes.NewReader(good))
	assert.Equal(t, 200, status, "%s", body)
}

// TestAuthMatrix: every route refuses a missing key with 401 and a key
// of a role it does not serve with 403; open routes need no key.
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t, server.Config{})
	roles := map[string]string{"admin": "admin", "registrar": "labelA", "matcher": "platform", "monitor": "monitor"}
	for _, rt := range server.Routes() {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			path := strings.ReplaceAll(rt.Path, "{id}", "some-id")
			do := func(key string) int {
				req, err := http.NewRequest(rt.Method, e.url+path, strings.NewReader(""))
				require.NoError(t, err)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				if resp.Header.Get("Content-Type") != "text/event-stream" { // an event stream does not end
					io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if rt.Roles == nil {
				assert.Equal(t, 200, do(""), "open route")
				return
			}
			assert.Equal(t, 401, do(""), "no key")
			assert.Equal(t, 401, do("cpk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "unknown key")
			assert.Equal(t, 401, do(e.keys["admin"]+"x"), "mangled key")
			for role, who := range roles {
				got := do(e.keys[who])
				if slices.Contains(rt.Roles, role) {
					assert.NotContains(t, []int{401, 403}, got, "%s may use it", role)
				} else {
					assert.Equal(t, 403, got, "%s may not", role)
				}
			}
		})
	}
	// A revoked key is refused from then on.
	c := e.client(t, "admin")
	keys, err := c.Keys(context.Background())
	require.NoError(t, err)
	var platformID string
	for _, k := range keys {
		if k.Name == "platform" {
			platformID = k.ID
		}
	}
	require.NoError(t, c.RevokeKey(context.Background(), platformID))
	_, err = e.client(t, "platform").Match(context.Background(), strings.NewReader("x"))
	assertAPIError(t, err, 401, "unauthorized")
	// A key made through the API works at once.
	nk, err := c.CreateKey(context.Background(), api.KeyRequest{Role: "matcher", Tenant: "dsp"})
	require.NoError(t, err)
	c2, _ := client.New(e.url, nk.Secret, nil)
	_, err = c2.Ready(context.Background())
	require.NoError(t, err)
}

// TestStreamingMatchAnswersBeforeUploadEnds streams a recording (a
// registered work's 25 s, then 60 s of unregistered music) and holds the
// upload open until the first segment arrives.
func TestStreamingMatchAnswersBeforeUploadEnds(t *testing.T) {
	trs := tracks(t, 4)
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	register(t, e.client(t, "admin"), "S-1", "Streamed", trs[0].Path)

	pcmA, err := degrade.Load(ctx, degrade.Excerpt{Path: trs[0].Path, StartS: 30, LengthS: 25}, "")
	require.NoError(t, err)
	pcmB, err := degrade.Load(ctx, degrade.Excerpt{Path: trs[3].Path, StartS: 20, LengthS: 60}, "")
	require.NoError(t, err)
	enc := func(pcm []float32) []byte {
		b, err := media.EncodeAudio(ctx, pcm, degrade.WorkRateHz, media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000})
		require.NoError(t, err)
		return b
	}
	whole := enc(append(append([]float32{}, pcmA...), pcmB...))
	// Hold back the last quarter (15 s) until the segment is seen.
	cut := len(whole) * 3 / 4
	pr, pw := io.Pipe()
	var sawSegment atomic.Bool
	segCh := make(chan api.Segment, 4)
	go func() {
		pw.Write(whole[:cut])
		select {
		case <-segCh:
			sawSegment.Store(true)
		case <-time.After(60 * time.Second):
		}
		pw.Write(whole[cut:])
		pw.Close()
	}()
	var got []api.Segment
	end, err := e.client(t, "platform").MatchStream(ctx, pr, func(s api.Segment) error {
		got = append(got, s)
		segCh <- s
		return nil
	})
	require.NoError(t, err)
	assert.True(t, sawSegment.Load(), "a segment arrived while the upload was still open")
	require.Len(t, got, 1, "%+v", got)
	assert.Equal(t, "S-1", got[0].ID)
	assert.InDelta(t, 0, got[0].QueryStartS, 1)
	assert.InDelta(t, 25, got[0].DurationS, 2)
	assert.InDelta(t, 30, got[0].RefStartS-got[0].QueryStartS, 0.2)
	assert.Equal(t, 1, end.Matches)
	assert.InDelta(t, 85, end.Query.DurationS, 0.5)

	// A stream of garbage ends with an error event, not a hang.
	_, err = e.client(t, "platform").MatchStream(ctx, bytes.NewReader(bytes.Repeat([]byte{0x55}, 100000)), func(api.Segment) error { return nil })
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "unsupported_media", ae.Code)
}

// TestConcurrentMatchers: 50 clients match 10 s clips for a bounded time
// against a small pool. Only 429s may fail, and memory stays bounded.
func TestConcurrentMatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	trs := tracks(t, 3)
	e := newEnv(t, server.Config{Workers: 2, QueueDepth: 8})
	for i, tr := range trs {
		register(t, e.client(t, "admin"), fmt.Sprintf("L-%d", i), "Load", tr.Path)
	}
	clips := [][]byte{clip(t, trs[0].Path, 30, 10), clip(t, trs[1].Path, 50, 10), clip(t, trs[2].Path, 70, 10)}

	const clients = 50
	deadline := time.Now().Add(12 * time.Second)
	var ok, busy, gaveUp, other atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var peakHeap atomic.Uint64
	stopSampling := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The client sends a refused request again after Retry-After:
			// count the refusals as they come back.
			hc := newCheckingClient(t)
			hc.Transport = statusCounter{next: hc.Transport, status: http.StatusTooManyRequests, n: &busy}
			c, err := client.New(e.url, e.keys["platform"], hc)
			require.NoError(t, err)
			for k := 0; time.Now().Before(deadline); k++ {
				q := clips[(i+k)%len(clips)]
				start := time.Now()
				res, err := c.Match(context.Background(), bytes.NewReader(q))
				switch {
				case err == nil:
					ok.Add(1)
					mu.Lock()
					lat = append(lat, time.Since(start))
					mu.Unlock()
					if len(res.Matches) != 1 || res.Matches[0].ID != fmt.Sprintf("L-%d", (i+k)%len(clips)) {
						other.Add(1)
						t.Errorf("wrong answer: %+v", res.Matches)
					}
				case client.IsStatus(err, 429):
					gaveUp.Add(1) // refused client.MaxRetries+1 times
				default:
					other.Add(1)
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	require.NotEmpty(t, lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	hwm := "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b); m != nil {
			hwm = string(m[1]) + " kB"
		}
	}
	t.Logf("50 clients, 2 workers, queue 8: %d answered, %d answers 429 (retried by the client), %d given up after retries, %d other errors; latency p50 %v p99 %v; peak heap in use %d MiB; peak RSS of the test process (server and clients) %s",
		ok.Load(), busy.Load(), gaveUp.Load(), other.Load(), p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), peakHeap.Load()>>20, hwm)
	assert.Zero(t, other.Load())
	assert.Positive(t, busy.Load(), "the queue bound was reached")
	assert.Less(t, peakHeap.Load(), uint64(1<<30), "memory bounded")
}

// statusCounter counts the answers with one status.
type statusCounter struct {
	next   http.RoundTripper
	status int
	n      *atomic.Int64
}

func (s statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil && resp.StatusCode == s.status {
		s.n.Add(1)
	}
	return resp, err
}

// TestBulkRegistration: a CSV manifest of files under the media root runs
// as a job; good rows are registered, bad ones reported by line.
func TestBulkRegistration(t *testing.T) {
	trs := tracks(t, 2)
	root := t.TempDir()
	for i, tr := range trs {
		require.NoError(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("t%d.mp3", i)), clip(t, tr.Path, 20, 30), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "junk.mp3"), []byte("not audio"), 0o644))
	e := newEnv(t, server.Config{MediaRoot: root})
	ctx := context.Background()
	c := e.client(t, "labelA")
	manifest := "id,title,isrc,path\n" +
		"B-0,Zero,,t0.mp3\n" +
		"B-1,One,,t1.mp3\n" +
		"B-2,Junk,,junk.mp3\n" +
		"B-3,Missing,,nope.mp3\n" +
		"B-4,Escape,,../../etc/passwd\n" +
		"B-5,Bad ISRC,XX,t0.mp3\n"
	job, err := c.Bulk(ctx, strings.NewReader(manifest), false)
	require.NoError(t, err)
	assert.Equal(t, 6, job.Total)
	for job.State == "running" {
		time.Sleep(100 * time.Millisecond)
		job, err = c.Job(ctx, job.ID)
		require.NoError(t, err)
	}
	assert.Equal(t, "done", job.State)
	assert.Equal(t, 2, job.Registered)
	assert.Equal(t, 4, job.Failed)
	codes := map[int]string{}
	for _, je := range job.Errors {
		codes[je.Line] = je.Code
	}
	assert.Equal(t, map[int]string{4: "unsupported_media", 5: "media_not_found", 6: "url_not_allowed", 7: "invalid_work"}, codes)
	w, err := c.Work(ctx, "B-1")
	require.NoError(t, err)
	assert.Equal(t, "label-a", w.Tenant)
	assert.InDelta(t, 30, w.DurationS, 0.2)
	// Another tenant cannot see the job.
	_, err = e.client(t, "labelB").Job(ctx, job.ID)
	assertAPIError(t, err, 404, "not_found")

	// Match by URL: a file under the root; remote URLs are off by default.
	res, err := e.client(t, "platform").MatchURL(ctx, api.MatchURLRequest{URL: "file://" + filepath.Join(root, "t1.mp3")})
	require.NoError(t, err)
	require.Len(t, res.Matches, 1)
	assert.Equal(t, "B-1", res.Matches[0].ID)
	_, err = e.client(t, "platform").MatchURL(ctx, api.MatchURLRequest{URL: "https://example.com/x.mp3"})
	assertAPIError(t, err, 422, "url_not_allowed")
	_, err = e.client(t, "platform").MatchURL(ctx, api.MatchURLRequest{URL: "/etc/passwd"})
	assertAPIError(t, err, 422, "url_not_allowed")
}
