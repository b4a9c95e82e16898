package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/server/report"
)

// mp3Clip renders an MP3 excerpt of a recording.
func mp3Clip(t *testing.T, path string, startS, lengthS float64) []byte {
	t.Helper()
	b, _, err := degrade.Render(context.Background(), degrade.Excerpt{Path: path, StartS: startS, LengthS: lengthS},
		degrade.Condition{Name: "mp3", Codec: &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000}}, 1, nil)
	require.NoError(t, err)
	return b
}

// TestScanKill9Resumes scans a list with the binary, kills it with -9
// mid-way, runs the same command again, and compares every report with
// an uninterrupted scan of the same list on another store: byte for
// byte.
func TestScanKill9Resumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	trs := tracks(t, 5)
	bin := filepath.Join(t.TempDir(), "cueprint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))

	root := t.TempDir()
	var list strings.Builder
	list.WriteString("item_id,media,views,territory,period,note\n")
	for i := range 12 {
		name := fmt.Sprintf("item%02d.mp3", i)
		// A registered work (i%3), then unregistered music (tracks 3, 4).
		b := append(mp3Clip(t, trs[i%3].Path, float64(5+3*i), 20), mp3Clip(t, trs[3+i%2].Path, float64(30+i), 15)...)
		require.NoError(t, os.WriteFile(filepath.Join(root, name), b, 0o644))
		fmt.Fprintf(&list, "v%02d,%s,%d,GB,2026-11,\"note, %d\"\n", i, name, 100*i, i)
	}
	list.WriteString("v99,gone.mp3,0,GB,2026-11,x\n")
	items := filepath.Join(root, "items.csv")
	require.NoError(t, os.WriteFile(items, []byte(list.String()), 0o644))

	store := func() string {
		db := filepath.Join(t.TempDir(), "db")
		for i := range 3 {
			code, _, stderr := cli(t, "register", "--db", db, "--id", fmt.Sprintf("W%d", i), "--title", fmt.Sprintf("Song %d", i),
				"--owner", fmt.Sprintf("Writer %d:60:composer", i), "--owner", "Publisher:40:publisher", trs[i].Path)
			require.Equal(t, 0, code, stderr)
		}
		return db
	}
	scanArgs := func(db string) []string {
		return []string{"scan", "--db", db, "--items", items, "--name", "nov", "--workers", "2"}
	}
	whole := store()
	code, stdout, stderr := cli(t, scanArgs(whole)...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "13 items, 1 failed, 12 usage lines")

	cut := store()
	cmd := exec.Command(bin, scanArgs(cut)...)
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool {
		logs, _ := filepath.Glob(filepath.Join(cut, "scans", "*", "log.jsonl"))
		if len(logs) == 0 {
			return false
		}
		b, _ := os.ReadFile(logs[0])
		return bytes.Count(b, []byte("\n")) >= 3
	}, 60*time.Second, 2*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	code, stdout, stderr = cli(t, scanArgs(cut)...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "resuming at")
	require.Contains(t, stdout, "13 items, 1 failed, 12 usage lines")

	_, listed, _ := cli(t, "scan", "--db", whole, "--list")
	id := strings.Fields(strings.Split(listed, "\n")[1])[0]
	for _, f := range report.Formats {
		args := []string{"report", "--scan", id, "--format", f, "--sender-party-id", "PADPIDA20261205016", "--sender-name", "Society", "--created", "2026-12-05T10:00:00Z"}
		code, a, stderr := cli(t, append(args, "--db", whole)...)
		require.Equal(t, 0, code, "%s: %s", f, stderr)
		_, b, _ := cli(t, append(args, "--db", cut)...)
		assert.Equal(t, a, b, "%s: the same after kill -9 and resume", f)
	}
	_, csv, _ := cli(t, "report", "--db", whole, "--scan", id)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 13)
	for i, l := range lines[1:] {
		assert.Contains(t, l, fmt.Sprintf(",v%02d,item%02d.mp3,", i, i))
		assert.Contains(t, l, fmt.Sprintf(",W%d,Song %d,", i%3, i%3))
		assert.Contains(t, l, fmt.Sprintf(",%q", fmt.Sprintf("note, %d", i)), "the extra column kept")
	}
}

// TestDatasetAudit audits a directory whose contents are known: which
// registered works it holds, in which files, for how long, and the
// registered share of its hours.
func TestDatasetAudit(t *testing.T) {
	trs := tracks(t, 4)
	dir := t.TempDir()
	db := filepath.Join(t.TempDir(), "db")
	for i := range 2 {
		code, _, stderr := cli(t, "register", "--db", db, "--id", fmt.Sprintf("W%d", i), "--owner", fmt.Sprintf("Owner %d:100", i), trs[i].Path)
		require.Equal(t, 0, code, stderr)
	}
	write := func(name string, parts ...[]byte) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), bytes.Join(parts, nil), 0o644))
	}
	write("a/one.mp3", mp3Clip(t, trs[0].Path, 20, 30))                                     // W0, 30 s
	write("a/two.mp3", mp3Clip(t, trs[2].Path, 20, 30))                                     // nothing registered
	write("b/three.mp3", mp3Clip(t, trs[1].Path, 40, 20), mp3Clip(t, trs[3].Path, 40, 20))  // W1, 20 of 40 s
	write("b/four.mp3", mp3Clip(t, trs[0].Path, 100, 20), mp3Clip(t, trs[1].Path, 100, 20)) // W0 and W1
	write("notes.txt", []byte("not media"))
	code, stdout, stderr := cli(t, "scan", "--db", db, "--dataset", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "4 items, 0 failed, 4 usage lines")
	_, listed, _ := cli(t, "scan", "--db", db, "--list")
	id := strings.Fields(strings.Split(listed, "\n")[1])[0]
	code, js, stderr := cli(t, "report", "--db", db, "--scan", id, "--format", "audit.json")
	require.Equal(t, 0, code, stderr)
	var a report.Audit
	require.NoError(t, json.Unmarshal([]byte(js), &a))
	assert.Equal(t, 4, a.Files)
	assert.Equal(t, 3, a.FilesWithWorks)
	require.Len(t, a.Works, 2)
	assert.Equal(t, "W0", a.Works[0].WorkID)
	assert.Equal(t, 2, a.Works[0].Files)
	assert.InDelta(t, 50, a.Works[0].PlayedS, 2)
	assert.Equal(t, "W1", a.Works[1].WorkID)
	assert.InDelta(t, 40, a.Works[1].PlayedS, 2)
	// 90 s registered in 140 s of dataset.
	assert.InDelta(t, 90.0/140, a.RegisteredShare, 0.02)
	assert.Equal(t, "Owner 0", a.Owners[0].Owner)
}

// TestScanURLItems: the command line fetches URL items as the daemon
// does: a file, an HLS playlist's segments, and the size limit applied to
// what is fetched, each item's error recorded.
func TestScanURLItems(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes real media")
	}
	trs := tracks(t, 2)
	db := filepath.Join(t.TempDir(), "db")
	code, _, stderr := cli(t, "register", "--db", db, "--id", "W0", "--title", "Song", trs[0].Path)
	require.Equal(t, 0, code, stderr)
	whole := mp3Clip(t, trs[0].Path, 20, 24)
	segs := [][]byte{mp3Clip(t, trs[0].Path, 40, 8), mp3Clip(t, trs[0].Path, 48, 8), mp3Clip(t, trs[0].Path, 56, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("/song.mp3", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(whole) })
	mux.HandleFunc("/seg/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.PathValue("n"), "%d.mp3", &n)
		_, _ = w.Write(segs[n%len(segs)])
	})
	mux.HandleFunc("/show.m3u8", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXTINF:8,\nseg/0.mp3\n#EXTINF:8,\nseg/1.mp3\n#EXTINF:8,\nseg/2.mp3\n#EXT-X-ENDLIST\n")
	})
	origin := httptest.NewServer(mux)
	defer origin.Close()
	items := filepath.Join(t.TempDir(), "items.csv")
	require.NoError(t, os.WriteFile(items, []byte("item_id,media\nu1,"+origin.URL+"/song.mp3\nu2,"+origin.URL+"/show.m3u8\nu3,"+origin.URL+"/gone.mp3\n"), 0o644))

	code, stdout, stderr := cli(t, "scan", "--db", db, "--items", items, "--name", "denied")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "3 items, 3 failed", "each URL item fails without --allow-remote-urls")
	assert.Contains(t, stdout, "url_not_allowed")
	code, stdout, stderr = cli(t, "scan", "--db", db, "--items", items, "--name", "urls", "--allow-remote-urls")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "3 items, 1 failed, 2 usage lines")
	assert.Contains(t, stderr+stdout, "fetch_failed")
	code, csv, stderr := cli(t, "report", "--db", db, "--scan", scanIDOf(t, db, "urls"), "--format", "usages.csv")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, csv, "u2,")
	for _, l := range strings.Split(csv, "\n") {
		if strings.HasPrefix(l, "u2,") {
			assert.Contains(t, l, ",W0,", "the playlist's segments are the work")
		}
	}

	// The size limit applies to what is fetched.
	code, stdout, stderr = cli(t, "scan", "--db", db, "--items", items, "--name", "small", "--allow-remote-urls", "--max-item-size", "64K")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "3 items, 3 failed")
	assert.Contains(t, stderr+stdout, "upload_too_large")
}

// scanIDOf returns the ID of the scan of that name in db.
func scanIDOf(t *testing.T, db, name string) string {
	t.Helper()
	code, listed, stderr := cli(t, "scan", "--db", db, "--list")
	require.Equal(t, 0, code, stderr)
	for _, l := range strings.Split(listed, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 1 && f[1] == name {
			return f[0]
		}
	}
	t.Fatalf("no scan %q in %s", name, listed)
	return ""
}
