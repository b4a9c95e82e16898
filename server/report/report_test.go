package report

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden keeps every report format's output from drifting: a change
// must be deliberate (go test -update) and shows in review.
func TestGolden(t *testing.T) {
	for _, name := range Formats {
		t.Run(name, func(t *testing.T) {
			var a, b bytes.Buffer
			_, err := Write(&a, name, fixture(), dsrOptions())
			require.NoError(t, err)
			_, err = Write(&b, name, fixture(), dsrOptions())
			require.NoError(t, err)
			require.Equal(t, a.String(), b.String(), "the same input must give the same bytes")
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, a.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), a.String())
		})
	}
}

// TestDSRValidates runs DDEX's own flat-file validator on the DSR.
func TestDSRValidates(t *testing.T) {
	validator, _ := filepath.Abs("../../../shared/formats/dsr-validate.sh")
	if _, err := os.Stat(validator); err != nil {
		t.Skipf("DDEX's validator is not beside the repository (%s)", validator)
	}
	var b bytes.Buffer
	name, err := WriteDSR(&b, fixture(), dsrOptions())
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	out, err := exec.Command("bash", validator, p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "DSR valid")
}

func TestUnknownFormat(t *testing.T) {
	_, err := Write(&bytes.Buffer{}, "usages.xml", fixture(), dsrOptions())
	require.ErrorIs(t, err, ErrFormat)
}

func TestDSROptions(t *testing.T) {
	o := dsrOptions()
	require.NoError(t, o.Validate())
	o.SenderPartyID = "PADPIDA2026120501X"
	o.Currency = "euro"
	err := o.Validate()
	require.ErrorContains(t, err, "sender party id")
	require.ErrorContains(t, err, "currency")
	_, err = WriteDSR(&bytes.Buffer{}, fixture(), o)
	require.Error(t, err)
}

func TestMod3736(t *testing.T) {
	// An EIDR's check character is ISO 7064 MOD 37,36 over its 20 hex
	// digits: 10.5240/7791-8534-2C23-9030-8610-5 (EIDR's documentation).
	require.Equal(t, byte('5'), mod3736("779185342C2390308610"))
	require.True(t, ValidPartyID(dsrOptions().SenderPartyID))
	require.False(t, ValidPartyID("PADPIDA20261205017"))
}

func TestISODuration(t *testing.T) {
	for s, want := range map[float64]string{0: "", 0.5: "PT0.5S", 60: "PT1M", 212.5: "PT3M32.5S", 3723.25: "PT1H2M3.25S", 7200: "PT2H"} {
		require.Equal(t, want, isoDuration(s), "%g s", s)
	}
}

// TestUsagesJSONStreams: the usage lines are written one by one as they
// are read; the bytes are those of the whole document encoded at once,
// with lines and without.
func TestUsagesJSONStreams(t *testing.T) {
	for name, f := range map[string]scan.Filter{"all": {}, "none": {WorkID: "no-such-work"}} {
		t.Run(name, func(t *testing.T) {
			in := fixture()
			in.Filter = f
			var want, got bytes.Buffer
			doc := UsagesDoc{Scans: scansOf(in), Usages: []api.Usage{}}
			require.NoError(t, in.each(false, func(u api.Usage) error { doc.Usages = append(doc.Usages, u); return nil }))
			require.NoError(t, writeJSON(&want, doc))
			require.NoError(t, WriteUsagesJSON(&got, in))
			require.Equal(t, want.String(), got.String())
		})
	}
}
