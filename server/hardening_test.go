package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/index/spacetest"
	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/client"
)

// trickle opens a connection that sends a request's headers and then one
// byte of body every interval, until the server answers or closes. It
// returns the status line the server sent ("" if none).
func trickle(t *testing.T, e *env, key, path string, chunked bool, interval time.Duration, done <-chan struct{}) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		return ""
	}
	defer conn.Close()
	te := "Content-Length: 1000000\r\n"
	if chunked {
		te = "Transfer-Encoding: chunked\r\n"
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n%s\r\n", path, key, te)
	status := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		status <- strings.TrimSpace(line)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case s := <-status:
			return s
		case <-done:
			return ""
		case <-tick.C:
			b := []byte("x")
			if chunked {
				b = []byte("1\r\nx\r\n")
			}
			if _, err := conn.Write(b); err != nil {
				select {
				case s := <-status:
					return s
				case <-time.After(5 * time.Second):
					return ""
				}
			}
		}
	}
}

// TestSlowUploadsDoNotLockOut: ten clients trickling a match upload and
// sixteen trickling a stream, with the same key as a normal client, do
// not stop that client's matches and streams; each trickler is cut off
// with 408 after a window below the minimum rate.
func TestSlowUploadsDoNotLockOut(t *testing.T) {
	trs := tracks(t, 2)
	e := newEnv(t, server.Config{Workers: 2, QueueDepth: 8, BodyStallTimeout: 3 * time.Second})
	ctx := context.Background()
	register(t, e.client(t, "admin"), "N-1", "Normal", trs[0].Path)
	q := clip(t, trs[0].Path, 30, 10)

	done := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make(chan string, 26)
	for i := range 26 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, chunked := "/v1/match", false
			if i >= 10 {
				path, chunked = "/v1/match/stream", true
			}
			statuses <- trickle(t, e, e.keys["platform"], path, chunked, 500*time.Millisecond, done)
		}()
	}
	time.Sleep(500 * time.Millisecond) // every trickler connected
	c := e.client(t, "platform")
	for i := range 4 {
		res, err := c.Match(ctx, bytes.NewReader(q))
		require.NoError(t, err, "match %d beside the tricklers", i)
		require.Len(t, res.Matches, 1)
	}
	var seen int
	end, err := c.MatchStream(ctx, bytes.NewReader(q), func(api.Segment) error { seen++; return nil })
	require.NoError(t, err, "a stream beside the tricklers")
	assert.Equal(t, 1, end.Matches)

	// Within a window or two every trickler is cut off.
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		close(done)
		<-waited
		t.Fatal("tricklers still connected after 30 s")
	}
	close(statuses)
	n408 := 0
	for s := range statuses {
		if strings.Contains(s, " 408 ") {
			n408++
		}
	}
	assert.Equal(t, 26, n408, "every trickler answered 408")
}

// TestFIFOUnderMediaRoot: a FIFO (or any file that is not regular) under
// the media root is refused with 422 at once, by URL and in a manifest,
// and the daemon stays ready.
func TestFIFOUnderMediaRoot(t *testing.T) {
	root := t.TempDir()
	fifo := filepath.Join(root, "pipe.mp3")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	e := newEnv(t, server.Config{MediaRoot: root, Workers: 1, QueueDepth: 1})
	ctx := context.Background()
	c := e.client(t, "admin")
	for range 5 {
		start := time.Now()
		_, err := c.MatchURL(ctx, api.MatchURLRequest{URL: "pipe.mp3"})
		assertAPIError(t, err, http.StatusUnprocessableEntity, "media_not_found")
		assert.Less(t, time.Since(start), 5*time.Second)
	}
	_, err := c.MatchURL(ctx, api.MatchURLRequest{URL: "file://" + fifo})
	assertAPIError(t, err, http.StatusUnprocessableEntity, "media_not_found")
	job, err := c.Bulk(ctx, strings.NewReader("id,title,path\nF-1,Fifo,pipe.mp3\n"), false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		j, err := c.Job(ctx, job.ID)
		return err == nil && j.State == "done" && j.Failed == 1
	}, 10*time.Second, 50*time.Millisecond)
	h, err := c.Ready(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", h.Status)
}

// TestStreamLimitsReported: a stream that reaches the daemon's byte cap
// ends with an error event saying so, not with a normal end.
func TestStreamLimitsReported(t *testing.T) {
	trs := tracks(t, 1)
	e := newEnv(t, server.Config{MaxStreamBytes: 64 << 10})
	q := clip(t, trs[0].Path, 30, 20) // about 240 KB at 96 kb/s
	_, err := e.client(t, "platform").MatchStream(context.Background(), bytes.NewReader(q), func(api.Segment) error { return nil })
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "stream_too_large", ae.Code, "%v", err)
}

// TestStrictMetadata: metadata with a key given twice or data after the
// JSON value is refused, as are IDs that cannot be reached or that
// display as another.
func TestStrictMetadata(t *testing.T) {
	trs := tracks(t, 1)
	e := newEnv(t, server.Config{})
	media, err := os.ReadFile(trs[0].Path)
	require.NoError(t, err)
	for _, meta := range []string{
		`{"id":"M-1","title":"a","id":"M-2"}`,
		`{"id":"M-1","title":"a"} trailing`,
		`{"id":"M-1","title":"a"}{"id":"M-2"}`,
		`{"id":".","title":"a"}`,
		`{"id":"..","title":"a"}`,
		`{"id":"M-1` + "\u202e" + `gpj","title":"a"}`,
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="metadata"`)
		pw, _ := mw.CreatePart(h)
		pw.Write([]byte(meta))
		fw, _ := mw.CreateFormFile("media", "song.ogg")
		fw.Write(media)
		mw.Close()
		status, er, _ := post(t, e, e.keys["admin"], "/v1/works", mw.FormDataContentType(), &body)
		assert.Equal(t, http.StatusBadRequest, status, "metadata %q: %+v", meta, er)
	}
	n := 0
	require.NoError(t, e.store.List("", func(index.Work) bool { n++; return true }))
	assert.Zero(t, n)
}

// TestDiskFull registers into a store on a small real filesystem (a
// tmpfs, when run as root) until the daemon refuses with 507: the daemon
// stays up and matching, /readyz and /metrics say writes are refused,
// and every acknowledged work is there after a restart on the full disk.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a filesystem")
	}
	trs := tracks(t, 4)
	mnt := spacetest.MountTmpfs(t, index.MinMinFreeBytes+6<<20)
	dir := filepath.Join(mnt, "db")
	ctx := context.Background()
	opts := index.Options{Params: fingerprint.DefaultAudioParams(), MinFreeBytes: index.MinMinFreeBytes}
	ring, err := auth.Open(dir)
	require.NoError(t, err)
	_, secret, err := ring.Create(auth.Admin, "ops", "admin")
	require.NoError(t, err)
	url, stop := serveDir(t, dir, opts, server.Config{})
	c, err := client.New(url, secret, nil)
	require.NoError(t, err)

	var acked []string
	var last error
	for i := 0; i < 400 && last == nil; i++ {
		f, err := os.Open(trs[i%len(trs)].Path)
		require.NoError(t, err)
		id := fmt.Sprintf("D-%03d", i)
		_, last = c.Register(ctx, api.WorkMetadata{ID: id, Title: id}, f, "song.ogg", false)
		f.Close()
		if last == nil {
			acked = append(acked, id)
		}
	}
	assertAPIError(t, last, http.StatusInsufficientStorage, "insufficient_storage")
	require.NotEmpty(t, acked)
	t.Logf("%d works registered, then: %v", len(acked), last)
	// Another program takes the disk below the reserve, so that what
	// follows does not depend on how much Badger's compactions free.
	spacetest.FillTo(t, mnt, index.MinMinFreeBytes/2)

	h, err := c.Ready(ctx)
	require.NoError(t, err, "ready: matching goes on")
	require.NotNil(t, h.Storage)
	assert.False(t, h.Storage.Writable)
	assert.Equal(t, "insufficient_storage", h.Storage.Reason)
	res, err := c.Match(ctx, bytes.NewReader(clip(t, trs[0].Path, 30, 10)))
	require.NoError(t, err)
	assert.NotEmpty(t, res.Matches, "matching on a full disk")
	assertAPIError(t, c.DeleteWork(ctx, acked[0]), http.StatusInsufficientStorage, "insufficient_storage")

	stop()

	// Another program takes the rest of the disk; a restart on the full
	// disk opens the store read-only, with every acknowledged work.
	spacetest.Fill(t, mnt)
	st, err := index.Open(ctx, dir, opts)
	require.NoError(t, err)
	defer st.Close()
	assert.False(t, st.Writable())
	for _, id := range acked {
		_, err := st.GetIn("ops", id)
		require.NoError(t, err, id)
	}
}

// serveDir runs a daemon over the store in dir (opened here with opts,
// its key ring beside it) and returns its URL and a stop that shuts it
// down and closes the store; stop also runs at cleanup, before anything
// registered earlier (an unmount).
func serveDir(t *testing.T, dir string, opts index.Options, cfg server.Config) (string, func()) {
	t.Helper()
	ctx := context.Background()
	st, err := index.Open(ctx, dir, opts)
	require.NoError(t, err)
	ring, err := auth.Open(dir)
	require.NoError(t, err)
	cfg.Listen = "127.0.0.1:0"
	srv, err := server.New(cfg, st, ring, prometheus.NewRegistry(), nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-served)
			require.NoError(t, st.Close())
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// TestBulkJobSurvivesRestart: a bulk registration cut short by a restart
// resumes where it was, with no row done twice or skipped, and its report
// is there after another restart.
func TestBulkJobSurvivesRestart(t *testing.T) {
	trs := tracks(t, 2)
	root := t.TempDir()
	var manifest strings.Builder
	manifest.WriteString("id,title,path\n")
	const rows = 6
	for i := range rows {
		name := fmt.Sprintf("r%d.mp3", i)
		require.NoError(t, os.WriteFile(filepath.Join(root, name), clip(t, trs[i%2].Path, float64(10+20*(i/2)), 40), 0o644))
		fmt.Fprintf(&manifest, "R-%d,Row %d,%s\n", i, i, name)
	}
	dir := t.TempDir()
	ring, err := auth.Open(dir)
	require.NoError(t, err)
	_, secret, err := ring.Create(auth.Registrar, "label-a", "a")
	require.NoError(t, err)
	ctx := context.Background()
	cfg := server.Config{MediaRoot: root, Workers: 1}
	opts := index.Options{Params: fingerprint.DefaultAudioParams()}

	url, stop := serveDir(t, dir, opts, cfg)
	c, err := client.New(url, secret, nil)
	require.NoError(t, err)
	job, err := c.Bulk(ctx, strings.NewReader(manifest.String()), false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		j, err := c.Job(ctx, job.ID)
		return err == nil && j.Done >= 2
	}, 60*time.Second, 20*time.Millisecond)
	stop()
	logged, err := os.ReadFile(filepath.Join(dir, "jobs", job.ID+".log"))
	require.NoError(t, err)
	require.NotContains(t, string(logged), `"state"`, "the job was cut short, not finished")
	require.Less(t, strings.Count(string(logged), "\n"), rows)

	url, stop = serveDir(t, dir, opts, cfg)
	c, err = client.New(url, secret, nil)
	require.NoError(t, err)
	var got *api.Job
	require.Eventually(t, func() bool {
		got, err = c.Job(ctx, job.ID)
		return err == nil && got.State == "done"
	}, 60*time.Second, 50*time.Millisecond, "the job resumes and finishes")
	assert.Equal(t, rows, got.Done)
	assert.Equal(t, rows, got.Registered, "every row registered once: %+v", got.Errors)
	assert.Empty(t, got.Errors)
	stop()

	url, _ = serveDir(t, dir, opts, cfg)
	c, err = client.New(url, secret, nil)
	require.NoError(t, err)
	again, err := c.Job(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, got.Registered, again.Registered)
	assert.Equal(t, "done", again.State)
	list, err := c.Works(ctx, client.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list.Works, rows)
}

// TestAdminActsOnTenants: an admin reads, replaces and deletes another
// tenant's work by naming the tenant; without it, its own tenant is meant.
func TestAdminActsOnTenants(t *testing.T) {
	trs := tracks(t, 1)
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	register(t, e.client(t, "labelA"), "T-1", "A's", trs[0].Path)
	do := func(method, path string, body io.Reader, contentType string) int {
		req, err := http.NewRequest(method, e.url+path, body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.keys["admin"])
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNotFound, do("GET", "/v1/works/T-1", nil, ""), "the admin's own tenant has no T-1")
	assert.Equal(t, http.StatusOK, do("GET", "/v1/works/T-1?tenant=label-a", nil, ""))
	assert.Equal(t, http.StatusBadRequest, do("GET", "/v1/works/T-1?tenant=bad%2Fname", nil, ""))
	media, err := os.ReadFile(trs[0].Path)
	require.NoError(t, err)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"`)
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte(`{"title":"replaced by ops"}`))
	fw, _ := mw.CreateFormFile("media", "song.ogg")
	fw.Write(media)
	mw.Close()
	assert.Equal(t, http.StatusOK, do("PUT", "/v1/works/T-1?tenant=label-a", &body, mw.FormDataContentType()))
	w, err := e.client(t, "labelA").Work(ctx, "T-1")
	require.NoError(t, err)
	assert.Equal(t, "replaced by ops", w.Title)
	assert.Equal(t, http.StatusNoContent, do("DELETE", "/v1/works/T-1?tenant=label-a", nil, ""))
	_, err = e.client(t, "labelA").Work(ctx, "T-1")
	assertAPIError(t, err, http.StatusNotFound, "work_not_found")
	// A registrar naming another tenant is refused.
	_, err = e.client(t, "labelB").Works(ctx, client.ListOptions{Tenant: "label-a"})
	assertAPIError(t, err, http.StatusForbidden, "forbidden")
}
