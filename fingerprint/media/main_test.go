package media_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// TestMain silences FFmpeg's own log (process-wide, as in cmd/cueprint):
// the tests feed it broken media on purpose.
func TestMain(m *testing.M) {
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	os.Exit(m.Run())
}
