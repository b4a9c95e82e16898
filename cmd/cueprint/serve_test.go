package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
)

// startDaemon runs `cueprint serve` and returns its URL.
func startDaemon(t *testing.T, bin, db string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	urlc := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not start")
	}
	return nil, ""
}

// TestDaemonKill9KeepsAcknowledgedRegistrations: a burst of
// registrations over HTTP, the daemon killed with SIGKILL in the middle;
// every registration answered 201 is in the reopened store, whole.
// Then a restarted daemon stops cleanly on SIGTERM.
func TestDaemonKill9KeepsAcknowledgedRegistrations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	trs := tracks(t, 4)
	ctx := context.Background()
	var clips [][]byte
	for i := range 12 {
		tr := trs[i%len(trs)]
		b, _, err := degrade.Render(ctx, degrade.Excerpt{Path: tr.Path, StartS: float64(10 + 7*i), LengthS: 20},
			degrade.Condition{Name: "mp3", Codec: &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000}}, 1, nil)
		require.NoError(t, err)
		clips = append(clips, b)
	}
	bin := filepath.Join(t.TempDir(), "cueprint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	db := filepath.Join(t.TempDir(), "db")
	keyOut, err := exec.Command(bin, "keys", "create", "--db", db, "--role", "registrar", "--tenant", "label").Output()
	require.NoError(t, err)
	key := strings.TrimSpace(string(keyOut))
	require.Regexp(t, `^cpk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$`, key, "the key alone on stdout")

	cmd, url := startDaemon(t, bin, db)
	cl, err := client.New(url, key, nil)
	require.NoError(t, err)
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(clips); i += 3 {
				id := fmt.Sprintf("K-%02d", i)
				_, err := cl.Register(ctx, api.WorkMetadata{ID: id, Title: id}, bytes.NewReader(clips[i]), id+".mp3", false)
				if err != nil {
					return // the daemon is gone
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n == 5 {
					_ = cmd.Process.Signal(syscall.SIGKILL) // others are mid-request
				}
			}
		}()
	}
	wg.Wait()
	_ = cmd.Wait()
	require.GreaterOrEqual(t, len(acked), 5)

	st, err := index.Open(ctx, db, index.Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	var stored []string
	require.NoError(t, st.List("", func(w index.Work) bool {
		stored = append(stored, w.ID)
		peaks, err := st.Peaks(w.Num)
		assert.NoError(t, err)
		assert.Equal(t, w.Peaks, len(peaks), "%s wholly registered", w.ID)
		assert.Equal(t, "label", w.Tenant)
		return true
	}))
	require.NoError(t, st.Close())
	for _, id := range acked {
		assert.Contains(t, stored, id, "acknowledged registration %s survives kill -9", id)
	}
	t.Logf("%d registrations acknowledged before kill -9, %d in the store after", len(acked), len(stored))

	// Restart: the works are matchable over HTTP, and SIGTERM stops the
	// daemon cleanly (exit 0).
	cmd, url = startDaemon(t, bin, db)
	cl, err = client.New(url, key, nil)
	require.NoError(t, err)
	i := 0
	fmt.Sscanf(acked[0], "K-%d", &i)
	res, err := cl.Match(ctx, bytes.NewReader(clips[i]))
	require.NoError(t, err)
	require.NotEmpty(t, res.Matches)
	assert.Equal(t, acked[0], res.Matches[0].ID)
	// The command line matches through the daemon with the same output.
	q := filepath.Join(t.TempDir(), "q.mp3")
	require.NoError(t, os.WriteFile(q, clips[i], 0o644))
	mc := exec.Command(bin, "match", "--server", url, "--json", q)
	mc.Env = append(os.Environ(), "CUEPRINT_KEY="+key)
	mout, err := mc.Output()
	require.NoError(t, err)
	assert.Contains(t, string(mout), `"id":"`+acked[0]+`"`)
	assert.Contains(t, string(mout), `"query":{"path":"`+q+`","duration_s":20`)

	// From standard input, each match is printed while the input is still
	// open: a live feed's matches are seen as they happen.
	mc = exec.Command(bin, "match", "--server", url, "-")
	mc.Env = append(os.Environ(), "CUEPRINT_KEY="+key)
	stdin, err := mc.StdinPipe()
	require.NoError(t, err)
	stdout, err := mc.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, mc.Start())
	go func() {
		// The clip, then 60 s more of other works' clips, input kept open.
		for j := 0; j < 4; j++ {
			if _, err := stdin.Write(clips[(i+j*4)%len(clips)]); err != nil {
				return
			}
		}
	}()
	seen := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), acked[0]+"  ") {
				seen <- sc.Text()
				return
			}
		}
	}()
	select {
	case line := <-seen:
		assert.Contains(t, line, "audio")
	case <-time.After(60 * time.Second):
		t.Fatal("no match printed while the input was open")
	}
	stdin.Close()
	require.NoError(t, mc.Wait())

	mc = exec.Command(bin, "match", "--server", url, q) // no key
	mc.Env = append(os.Environ(), "CUEPRINT_KEY=")
	var stderr bytes.Buffer
	mc.Stderr = &stderr
	err = mc.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, stderr.String(), "401")

	// The container's health check.
	hout, err := exec.Command(bin, "health", "--server", url).Output()
	require.NoError(t, err)
	assert.Equal(t, "ok\n", string(hout))
	hout, err = exec.Command(bin, "health", "--server", url, "--ready").Output()
	require.NoError(t, err, string(hout))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit status 0 after SIGTERM")
	case <-time.After(40 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	err = exec.Command(bin, "health", "--server", url).Run()
	require.ErrorAs(t, err, &ee, "a stopped daemon is unhealthy")
	assert.Equal(t, 1, ee.ExitCode())
}

// TestServeReloadsOnSIGHUP: the daemon re-reads its configuration file
// on SIGHUP, and a limit changed there holds for the next request.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cueprint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	keyOut, err := exec.Command(bin, "keys", "create", "--db", db, "--role", "matcher", "--tenant", "p").Output()
	require.NoError(t, err)
	cfg := filepath.Join(dir, "cueprint.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("max-upload-bytes: 10M\n"), 0o600))
	cmd, url := startDaemon(t, bin, db, "--config", cfg)
	cl, err := client.New(url, strings.TrimSpace(string(keyOut)), nil)
	require.NoError(t, err)
	body := bytes.Repeat([]byte{0}, 64<<10)
	_, err = cl.Match(context.Background(), bytes.NewReader(body))
	assert.False(t, client.IsStatus(err, 413), "64 KiB under a 10M limit: %v", err)

	require.NoError(t, os.WriteFile(cfg, []byte("max-upload-bytes: 16K\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = cl.Match(context.Background(), bytes.NewReader(body))
		if client.IsStatus(err, 413) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.True(t, client.IsStatus(err, 413), "after SIGHUP the 16K limit holds: %v", err)
}
