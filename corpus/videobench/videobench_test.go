package videobench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickVideoBench runs the quick video benchmark on the real footage
// installed by make deps: every condition, embedded clips and unrelated
// videos, end to end through registration and matching.
func TestQuickVideoBench(t *testing.T) {
	if testing.Short() {
		t.Skip("renders some 250 clips with ffmpeg")
	}
	footage := filepath.Join("..", "..", ".cache", "video", "x")
	if _, err := os.Stat(footage); err != nil {
		t.Fatalf("video footage missing (make deps installs it): %v", err)
	}
	res, err := Run(context.Background(), Config{Footage: footage, Dir: t.TempDir(), Quick: true, Progress: os.Stderr})
	require.NoError(t, err)
	t.Log("\n" + res.Markdown())
	by := map[string]ConditionResult{}
	for _, c := range res.Conditions {
		by[c.Condition] = c
	}
	// 12 clips per condition, two of them inside the still shot of
	// `tree`, placed by their motion: one miss is allowed (see
	// docs/bench/video.md).
	for _, name := range []string{"clean", "reencode_low", "scale_240p", "crop_10_centre", "crop_10_corner", "letterbox", "pillarbox", "logo", "caption", "gamma", "fps_15", "hflip", "combined", "embedded"} {
		assert.GreaterOrEqual(t, by[name].Recall, 0.9, name)
	}
	wrong := 0
	for _, c := range res.Conditions {
		wrong += c.Wrong
	}
	assert.LessOrEqual(t, wrong, 2, "wrong-work segments over all conditions")
	assert.Positive(t, by["clean_with_sound"].Modalities["audiovisual"], "clean clips with their sound are audiovisual")
	assert.LessOrEqual(t, len(res.FalsePositives), 2, "unrelated videos matched: %v", res.FalsePositives)
}
