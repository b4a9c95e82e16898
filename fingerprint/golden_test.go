package fingerprint_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// update rewrites the golden prints: go test ./fingerprint -run Golden
// -update. Review the diff: a change to a print is a change to every
// store made before it (the parameters' hash in the store's meta record
// must then change too).
var update = flag.Bool("update", false, "rewrite the golden prints in testdata/golden")

// checkGolden compares got with testdata/golden/name, or writes it there
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden print (run with -update to write it)")
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range max(len(wl), len(gl)) {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from its golden print at line %d:\n got  %q\n want %q\n(if the change is meant, run with -update and review the diff)", name, i+1, g, w)
			}
		}
	}
}

// TestGoldenAudioPrints: the peaks and landmark hashes of generated
// melodies (melody, in fingerprint_test.go) must not drift.
func TestGoldenAudioPrints(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	for _, seed := range []uint64{1, 2} {
		ap, err := fingerprint.ExtractSamples(melody(12, seed, p.SampleRateHz), p)
		require.NoError(t, err)
		var b strings.Builder
		fmt.Fprintf(&b, "# melody(12 s, seed %d), fingerprint.DefaultAudioParams (hash %016x)\n", seed, p.Hash())
		fmt.Fprintf(&b, "# peaks: frame, pitch (semitones), strength\n")
		for _, pk := range ap.Peaks {
			fmt.Fprintf(&b, "%g %g %g\n", pk.Time, pk.Pitch, pk.Strength)
		}
		lms := p.Landmarks(ap.Peaks)
		fmt.Fprintf(&b, "# landmarks: hash, anchor frame\n")
		for _, lm := range lms {
			fmt.Fprintf(&b, "%08x %g\n", lm.Hash, lm.Time)
		}
		checkGolden(t, fmt.Sprintf("audio-melody-%d.txt", seed), b.String())
	}
}

// TestGoldenVideoHashes: the hashes of generated frames, as a reference
// and as a query (regions and mirrored), must not drift.
func TestGoldenVideoHashes(t *testing.T) {
	p := fingerprint.DefaultVideoParams()
	h := fingerprint.NewFrameHasher(p)
	var b strings.Builder
	fmt.Fprintf(&b, "# blob frames %dx%d, fingerprint.DefaultVideoParams (hash %016x)\n", p.FrameSize, p.FrameSize, p.Hash())
	fmt.Fprintf(&b, "# seed: reference hashes | query hashes | query mirrored hashes\n")
	for seed := range uint64(8) {
		f := fingerprint.BlobFrame(seed, p.FrameSize)
		r, ok := h.Hash(f, 0, false)
		require.True(t, ok)
		q, ok := h.Hash(f, 0, true)
		require.True(t, ok)
		fmt.Fprintf(&b, "%d: %s | %s | %s\n", seed, hexes(r.Hashes), hexes(q.Hashes), hexes(q.Flipped))
	}
	checkGolden(t, "video-blobs.txt", b.String())
}

func hexes(hs []uint64) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = fmt.Sprintf("%016x", h)
	}
	return strings.Join(parts, " ")
}
