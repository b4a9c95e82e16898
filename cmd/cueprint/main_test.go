package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/api"
)

// cli runs the command in process and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func tracks(t *testing.T, n int) []publicset.Track {
	t.Helper()
	out, err := publicset.Decodable(n, 0)
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	return out
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"nosuchcommand"},
		{"register", "--db", t.TempDir(), "x.mp3"},                               // no --id
		{"register", "--db", t.TempDir(), "--id", "a"},                           // no file
		{"register", "--db", t.TempDir(), "--id", "a", "--isrc", "bad", "x.mp3"}, // bad ISRC
		{"match", "--db", t.TempDir()},
		{"works", "frobnicate", "--db", t.TempDir()},
		{"works", "show", "--db", t.TempDir()},
		{"register", "--bogus-flag"},
		{"bench", "--scale", "-5"},
		{"bench", "--scale", "1000", "--scale-work-seconds", "-1"},
		{"bench", "--scale", "1000", "--scale-hours", "100"},
		{"bench", "--scale-hours", "-3"},
		{"compact", "--db", t.TempDir(), "extra"},
	}
	for _, args := range tests {
		code, _, stderr := cli(t, args...)
		assert.Equal(t, 2, code, "cueprint %v: %s", args, stderr)
		assert.NotEmpty(t, stderr)
	}
}

func TestRegisterMatchWorksFlow(t *testing.T) {
	trs := tracks(t, 3)
	db := filepath.Join(t.TempDir(), "db")
	code, _, stderr := cli(t, "register", "--db", db, "--id", "CMO-1", "--title", "First song", "--isrc", "US-RC1-76-07839",
		"--iswc", "T-034.524.680-1", "--owner", "Ada:60:composer", "--owner", "Bob:40", trs[0].Path)
	require.Equal(t, 0, code, stderr)
	code, _, _ = cli(t, "register", "--db", db, "--id", "CMO-2", "--title", "Second", trs[1].Path)
	require.Equal(t, 0, code)
	code, stdout, _ := cli(t, "works", "show", "CMO-1", "--db", db)
	require.Equal(t, 0, code)
	for _, want := range []string{"isrc:        US-RC1-76-07839\n", "iswc:        T-034.524.680-1\n", "owner:       Ada 60% (composer)\n", "owner:       Bob 40%\n"} {
		assert.Contains(t, stdout, want, "works show prints for people, identifiers in display form")
	}
	code, stdout, _ = cli(t, "works", "list", "--db", db)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "US-RC1-76-07839  T-034.524.680-1  -          Ada 60% (composer); Bob 40%")
	code, stdout, _ = cli(t, "works", "show", "CMO-1", "--db", db, "--json")
	require.Equal(t, 0, code)
	var w index.Work
	require.NoError(t, json.Unmarshal([]byte(stdout), &w))
	assert.Equal(t, "USRC17607839", w.ISRC, "identifiers normalised")
	assert.Equal(t, "T0345246801", w.ISWC)
	assert.Equal(t, []index.Owner{{Name: "Ada", Role: "composer", Share: 60}, {Name: "Bob", Share: 40}}, w.Owners)

	// The same ID again is refused, with --replace accepted.
	code, _, stderr = cli(t, "register", "--db", db, "--id", "CMO-1", trs[2].Path)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already registered")
	code, _, stderr = cli(t, "register", "--db", db, "--id", "CMO-1", "--title", "First song", "--replace", trs[0].Path)
	assert.Equal(t, 0, code, stderr)

	// A degraded excerpt is identified, with exactly the documented JSON.
	q := filepath.Join(t.TempDir(), "q.mp3")
	code, _, stderr = cli(t, "excerpt", "--start", "30", "--length", "10", "--noise", "pink", "--snr", "10", "--codec", "mp3", "--out", q, trs[1].Path)
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr = cli(t, "match", "--db", db, "--json", q)
	require.Equal(t, 0, code, stderr)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
	assert.ElementsMatch(t, []string{"query", "matches"}, keys(t, stdout))
	assert.ElementsMatch(t, []string{"path", "duration_s"}, keys(t, string(raw["query"])))
	var out matchOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	require.Len(t, out.Matches, 1)
	var ms []map[string]any
	require.NoError(t, json.Unmarshal(raw["matches"], &ms))
	var got []string
	for k := range ms[0] {
		got = append(got, k)
	}
	// The API's segment: its fields, nothing else, the identifiers and
	// owners included (the store is the caller's own).
	assert.Subset(t, got, []string{"id", "title", "query_start_s", "query_end_s", "ref_start_s", "ref_end_s", "duration_s", "score",
		"confidence", "speed", "modality", "pitch_shift_semitones"})
	dec := json.NewDecoder(strings.NewReader(string(raw["matches"])))
	dec.DisallowUnknownFields()
	var segs []api.Segment
	require.NoError(t, dec.Decode(&segs), "only api.Segment's fields")
	assert.Equal(t, "audio", out.Matches[0].Modality)
	m := out.Matches[0]
	assert.Equal(t, "CMO-2", m.ID)
	assert.InDelta(t, 30, m.RefStartS-m.QueryStartS, 0.2)
	assert.InDelta(t, 10, out.Query.DurationS, 0.1)
	assert.True(t, m.Confidence > 0 && m.Confidence <= 1)

	// Human output, and from standard input.
	code, stdout, _ = cli(t, "match", "--db", db, q)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "CMO-2")

	// works list / show / delete.
	code, stdout, _ = cli(t, "works", "list", "--db", db)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "CMO-1")
	code, stdout, _ = cli(t, "works", "show", "CMO-1", "--db", db, "--json")
	assert.Equal(t, 0, code)
	var replaced index.Work
	require.NoError(t, json.Unmarshal([]byte(stdout), &replaced))
	assert.Empty(t, replaced.Owners, "--replace replaces the metadata too")
	code, _, stderr = cli(t, "works", "show", "NOPE", "--db", db)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not found")

	code, _, _ = cli(t, "works", "delete", "CMO-2", "--db", db)
	assert.Equal(t, 0, code)
	code, stdout, _ = cli(t, "match", "--db", db, "--json", q)
	assert.Equal(t, 0, code)
	assert.JSONEq(t, fmt.Sprintf(`{"query":{"path":%q,"duration_s":%v},"matches":[]}`, q, out.Query.DurationS), stdout, "deleted work no longer matches; no match is not an error")
}

// keys returns the top-level keys of a JSON object.
func keys(t *testing.T, s string) []string {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBadMediaNamedInError(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	dir := t.TempDir()
	random := make([]byte, 32<<10)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for name, content := range map[string][]byte{"empty.mp3": nil, "notes.txt": []byte("not audio at all\n"), "random.ogg": random} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, 0o644))
		code, _, stderr := cli(t, "register", "--db", db, "--id", name, p)
		assert.Equal(t, 1, code, name)
		assert.Contains(t, stderr, p)
		code, _, stderr = cli(t, "match", "--db", db, p)
		assert.Equal(t, 1, code, name)
		assert.Contains(t, stderr, p)
	}
	code, stdout, _ := cli(t, "works", "list", "--db", db)
	assert.Equal(t, 0, code)
	assert.NotContains(t, stdout, "empty.mp3", "nothing half-registered")
}

func TestManifest(t *testing.T) {
	trs := tracks(t, 3)
	dir := t.TempDir()
	bad := publicset.MustUndecodable(t)
	manifest := "id,title,isrc,iswc,path\n"
	for i, tr := range trs {
		manifest += fmt.Sprintf("M-%d,Track %d,,,%s\n", i, i, tr.Path)
	}
	manifest += "M-missing,Missing,,,does-not-exist.ogg\n"
	manifest += "M-badisrc,Bad,XX,," + trs[0].Path + "\n"
	if len(bad) > 0 {
		manifest += "M-vorbis,FFmpeg rejects it,,," + bad[0] + "\n"
	}
	p := filepath.Join(dir, "works.csv")
	require.NoError(t, os.WriteFile(p, []byte(manifest), 0o644))
	db := filepath.Join(dir, "db")
	code, _, stderr := cli(t, "register", "--db", db, "--manifest", p)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "summary: 3 registered")
	assert.Contains(t, stderr, "M-missing")
	assert.Contains(t, stderr, "does-not-exist.ogg")
	assert.Contains(t, stderr, "M-badisrc")
	code, stdout, _ := cli(t, "works", "list", "--db", db)
	assert.Equal(t, 0, code)
	for i := range trs {
		assert.Contains(t, stdout, fmt.Sprintf("M-%d", i))
	}
	assert.NotContains(t, stdout, "M-missing")

	// Loaded again, the registered works are skipped, not fingerprinted
	// and refused; a changed title is refused before fingerprinting, and
	// replaced when asked.
	code, _, stderr = cli(t, "register", "--db", db, "--manifest", p)
	assert.Equal(t, 1, code, "the bad rows still fail")
	assert.Contains(t, stderr, "summary: 0 registered, 3 already registered with the same metadata (skipped)")
	changed := strings.Replace(manifest, "M-0,Track 0,", "M-0,Track Zero,", 1)
	require.NoError(t, os.WriteFile(p, []byte(changed), 0o644))
	code, _, stderr = cli(t, "register", "--db", db, "--manifest", p)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `M-0: index: work already registered with other metadata (title "Track 0"`)
	assert.Contains(t, stderr, "--replace replaces it")
	assert.Contains(t, stderr, "summary: 0 registered, 2 already registered")
	code, _, stderr = cli(t, "register", "--db", db, "--manifest", p, "--replace")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "summary: 3 registered")
	code, stdout, _ = cli(t, "works", "show", "M-0", "--db", db, "--json")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, `"title": "Track Zero"`)

	// Compacting keeps every work listed and matchable.
	code, _, stderr = cli(t, "compact", "--db", db)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "compacted")
	code, stdout, stderr = cli(t, "match", "--db", db, "--json", trs[1].Path)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"id":"M-1"`)
}

// TestKill9DuringRegistration runs the real binary: registrations run one
// after another while the process is killed with SIGKILL at random
// moments. Every registration that was acknowledged (exit 0) must be
// matchable afterwards; the interrupted one is wholly there or absent.
func TestKill9DuringRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	trs := tracks(t, 6)
	bin := filepath.Join(t.TempDir(), "cueprint")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	db := filepath.Join(t.TempDir(), "db")

	acked := map[string]publicset.Track{}
	for round, tr := range trs {
		id := fmt.Sprintf("K-%d", round)
		cmd := exec.Command(bin, "register", "--db", db, "--id", id, tr.Path)
		require.NoError(t, cmd.Start())
		if round%2 == 1 {
			// Kill somewhere inside fingerprinting or the index writes.
			time.Sleep(time.Duration(40+round*37) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		if err := cmd.Wait(); err == nil {
			acked[id] = tr
		}
	}
	require.NotEmpty(t, acked)

	ctx := context.Background()
	st, err := index.Open(ctx, db, index.Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	var ids []string
	require.NoError(t, st.List("", func(w index.Work) bool {
		ids = append(ids, w.ID)
		peaks, err := st.Peaks(w.Num)
		assert.NoError(t, err)
		assert.Equal(t, w.Peaks, len(peaks), "%s wholly registered", w.ID)
		return true
	}))
	require.NoError(t, st.Close())
	for id := range acked {
		assert.Contains(t, ids, id, "acknowledged registration %s survives kill -9", id)
	}
	// And each acknowledged work is matchable by the binary.
	for id, tr := range acked {
		q := filepath.Join(t.TempDir(), "q.wav")
		b, _, err := degrade.Render(ctx, degrade.Excerpt{Path: tr.Path, StartS: 15, LengthS: 8}, degrade.Condition{Name: "clean"}, 1, nil)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(q, b, 0o644))
		out, err := exec.Command(bin, "match", "--db", db, "--json", q).Output()
		require.NoError(t, err)
		assert.Contains(t, string(out), `"id":"`+id+`"`)
	}
}
