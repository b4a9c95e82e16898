package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/client"
)

// scanList writes the media of a scan into root and returns its CSV
// list: registered works cut, alone and joined to unregistered music, an
// unregistered item, and items that cannot be read.
func scanList(t *testing.T, root string, reg, unreg []string) string {
	t.Helper()
	write := func(name string, parts ...[]byte) {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), bytes.Join(parts, nil), 0o644))
	}
	write("a.mp3", clip(t, reg[0], 20, 40))
	// MP3 frames join: work B, unregistered music, then work A.
	write("mix.mp3", clip(t, reg[1], 30, 30), clip(t, unreg[0], 40, 30), clip(t, reg[0], 60, 30))
	write("none.mp3", clip(t, unreg[0], 10, 30))
	write("corrupt.mp3", bytes.Repeat([]byte("not audio "), 5000))
	return "item_id,media,views,territory,period,channel\n" +
		"v1,a.mp3,1000,FR,2026-11,c1\n" +
		"v2,mix.mp3,50,DE,2026-11,c2\n" +
		"v3,none.mp3,7,FR,2026-11,c1\n" +
		"v4,missing.mp3,0,FR,2026-11,c3\n" +
		"v5,../outside.mp3,0,FR,2026-11,c3\n" +
		"v6,corrupt.mp3,0,FR,2026-11,c3\n"
}

// TestScanEndToEnd scans a list through the API, restarting the daemon
// mid-way: every use found once with its times, no line for unregistered
// music, per-item errors recorded, and the report byte-identical to an
// uninterrupted scan's on another daemon.
func TestScanEndToEnd(t *testing.T) {
	trs := tracks(t, 3)
	root := t.TempDir()
	list := scanList(t, root, []string{trs[0].Path, trs[1].Path}, []string{trs[2].Path})
	ctx := context.Background()
	opts := index.Options{Params: fingerprint.DefaultAudioParams()}
	cfg := server.Config{MediaRoot: root, Workers: 1}

	// One daemon scans to the end.
	run := func(dir string, restart bool) (*api.Scan, []byte, []byte) {
		ring, err := auth.Open(dir)
		require.NoError(t, err)
		_, secret, err := ring.Create(auth.Registrar, "cmo", "cmo")
		require.NoError(t, err)
		u, stop := serveDir(t, dir, opts, cfg)
		c, err := client.New(u, secret, nil)
		require.NoError(t, err)
		register(t, c, "A", "Song A", trs[0].Path)
		register(t, c, "B", "Song B", trs[1].Path)
		sc, err := c.ScanCSV(ctx, strings.NewReader(list), "november", "")
		require.NoError(t, err)
		if restart {
			require.Eventually(t, func() bool {
				s, err := c.ScanState(ctx, sc.ID)
				return err == nil && s.Done >= 2
			}, 60*time.Second, 5*time.Millisecond)
			stop()
			u, _ = serveDir(t, dir, opts, cfg)
			c, err = client.New(u, secret, nil)
			require.NoError(t, err)
		}
		var got *api.Scan
		require.Eventually(t, func() bool {
			got, err = c.ScanState(ctx, sc.ID)
			return err == nil && got.State == "done"
		}, 120*time.Second, 20*time.Millisecond)
		csv, _, err := c.Report(ctx, "usages.csv", client.UsageQuery{Scan: sc.ID}, nil)
		require.NoError(t, err)
		dsr, name, err := c.Report(ctx, "dsr.tsv", client.UsageQuery{Scan: sc.ID}, url.Values{
			"sender_party_id": {"PADPIDA20261205016"}, "sender_name": {"Example Society"}, "created": {"2026-12-05T10:00:00Z"}})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(name, "DSR_"), name)
		if validator, _ := filepath.Abs("../../shared/formats/dsr-validate.sh"); fileExists(validator) {
			p := filepath.Join(t.TempDir(), name)
			require.NoError(t, os.WriteFile(p, dsr, 0o644))
			out, err := exec.Command("bash", validator, p).CombinedOutput()
			require.NoError(t, err, "%s", out)
		}
		return got, csv, dsr
	}
	whole, wholeCSV, wholeDSR := run(t.TempDir(), false)
	resumed, resumedCSV, resumedDSR := run(t.TempDir(), true)
	assert.Equal(t, whole.ID, resumed.ID)
	assert.Equal(t, string(wholeCSV), string(resumedCSV), "the same report after a restart")
	assert.Equal(t, string(wholeDSR), string(resumedDSR))

	assert.Equal(t, 6, whole.Done)
	assert.Equal(t, 3, whole.Failed, "%+v", whole.Errors)
	codes := map[string]string{}
	for _, e := range whole.Errors {
		codes[e.ItemID] = e.Code
	}
	assert.Equal(t, map[string]string{"v4": "media_not_found", "v5": "url_not_allowed", "v6": "unsupported_media"}, codes)

	type use struct {
		item, work string
		qs, qe     float64
	}
	var got []use
	for _, line := range strings.Split(strings.TrimSpace(string(wholeCSV)), "\n")[1:] {
		f := strings.Split(line, ",")
		var u use
		u.item, u.work = f[3], f[25]
		fmt.Sscan(f[12], &u.qs)
		fmt.Sscan(f[13], &u.qe)
		got = append(got, u)
	}
	want := []use{{"v1", "A", 0, 40}, {"v2", "B", 0, 30}, {"v2", "A", 60, 90}}
	require.Len(t, got, len(want), "%s", wholeCSV)
	for i, w := range want {
		assert.Equal(t, w.item, got[i].item)
		assert.Equal(t, w.work, got[i].work)
		assert.InDelta(t, w.qs, got[i].qs, 1, "use %d starts", i)
		assert.InDelta(t, w.qe, got[i].qe, 1, "use %d ends", i)
	}
	assert.Contains(t, string(wholeCSV), ",c2\n", "extra columns kept")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
