package bench_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/bench"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint/media"
)

// TestQuickBench runs `cueprint bench --quick` end to end so the harness
// cannot rot: every output is written and holds sane figures.
func TestQuickBench(t *testing.T) {
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	refs, err := publicset.Default()
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	out := t.TempDir()
	res, err := bench.Run(context.Background(), bench.Config{Refs: refs, Dir: filepath.Join(out, "store"), Quick: true})
	require.NoError(t, err)
	require.NoError(t, res.Write(out))
	for _, f := range []string{"results.json", "results.md", "recall_snr.svg", "recall_speed.svg", "scale.svg"} {
		fi, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
		assert.Positive(t, fi.Size(), f)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	require.NoError(t, err)
	var back bench.Results
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, res.Registered, back.Registered)

	assert.Len(t, res.Skipped, 3, "the three Vorbis files FFmpeg 5.1 rejects")
	assert.NotEmpty(t, res.Positives)
	for _, s := range res.Positives {
		if s.Group == "clean/10s" {
			assert.Equal(t, 1.0, s.Recall, "clean 10 s excerpts")
		}
	}
	for _, s := range res.Negatives {
		assert.Zero(t, s.FalsePositiveRate, "negatives %s", s.Group)
	}
	// Every positive query not counted correct is listed, and only those
	// (the negatives answered none).
	missed := 0
	for _, s := range res.Positives {
		missed += int(math.Round(float64(s.Queries) * (1 - s.Recall)))
	}
	assert.Len(t, res.Failures, missed)
	for _, f := range res.Failures {
		assert.Equal(t, "positive", f.Kind)
		assert.NotEmpty(t, f.WorkID)
		assert.NotEmpty(t, f.Path)
	}
	// The quick scale step: references plus synthetic works, bulk-built.
	require.Len(t, res.Scale, 1)
	sc := res.Scale[0]
	assert.Equal(t, bench.QuickScaleWorks, sc.Works)
	assert.Equal(t, res.Registered, sc.RealWorks)
	assert.Positive(t, sc.Postings)
	assert.Positive(t, sc.StoreBytes)
	assert.Positive(t, sc.Positives)
	assert.Positive(t, sc.Negatives)
	assert.GreaterOrEqual(t, sc.Recall, 0.9, "real queries still found among synthetic works")
	assert.LessOrEqual(t, sc.FalsePositiveRate, 0.1)
	assert.Positive(t, sc.MatchP50MS)
	c := res.Cost
	assert.Positive(t, c.FingerprintXRT)
	assert.Positive(t, c.DecodeOnlyXRT)
	assert.InDelta(t, c.FingerprintXRT/c.DecodeOnlyXRT, c.Ratio, 1e-9)
	assert.Positive(t, c.BytesPerHour)
	assert.Positive(t, c.PeakRSSMatchB)
	assert.Positive(t, c.MatchP50MS)
	assert.Positive(t, c.SerialQueries, "a sample of the 10 s queries run one at a time")
	assert.Positive(t, c.Serial10sPosP50MS)
	assert.Positive(t, c.Serial10sAllP50MS)
}

func TestScaleSteps(t *testing.T) {
	assert.Equal(t, []int{10_000, 100_000, 250_000}, bench.ScaleSizes(250_000))
	assert.Equal(t, []int{10_000}, bench.ScaleSizes(10_000))
	assert.Equal(t, []float64{30}, bench.ScaleHourSteps(30))
	assert.Equal(t, []float64{1_000, 10_000, 66_700}, bench.ScaleHourSteps(66_700))
	assert.Equal(t, []float64{1_000, 10_000, 66_700, 100_000}, bench.ScaleHourSteps(100_000))
}
