package match

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) {
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	goleak.VerifyTestMain(m)
}

// TestMatchVideoNotCrowdedOut: more copies of a video excerpt than
// VideoParams.Candidates, registered before the work they were cut from, must
// not hide that work; every copy is found too.
func TestMatchVideoNotCrowdedOut(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	work, query := filepath.Join(dir, "work.mp4"), filepath.Join(dir, "query.mp4")
	// A picture that never repeats: drifting gradients over a panning fractal.
	ffmpeg(t, "-f", "lavfi", "-i", "gradients=size=320x240:rate=25:seed=11:speed=0.02:duration=30",
		"-f", "lavfi", "-i", "sierpinski=size=320x240:rate=25:seed=3:jump=50",
		"-filter_complex", "[0:v][1:v]blend=all_mode=average,trim=duration=30,format=yuv420p[v]",
		"-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-t", "30", work)
	ffmpeg(t, "-ss", "10", "-t", "10", "-i", work, "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", query)

	vp := fingerprint.DefaultVideoParams()
	ref, err := fingerprint.ExtractVideoFile(ctx, work, vp, fingerprint.VideoOptions{})
	require.NoError(t, err)
	q, err := fingerprint.ExtractVideoFile(ctx, query, vp, fingerprint.VideoOptions{Query: true})
	require.NoError(t, err)
	// The copies: the reference's frames from 8 s to 22 s, from frame 0.
	var excerpt []fingerprint.VideoFrameHashes
	first := uint32(8 * vp.FPS)
	for _, f := range ref.Frames {
		if f.Index >= first && f.Index < uint32(22*vp.FPS) {
			f.Index -= first
			excerpt = append(excerpt, f)
		}
	}
	st, err := index.Open(ctx, dir+"/db", index.Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	defer st.Close()
	copies := DefaultVideoParams().Candidates + 6
	for i := range copies {
		_, err := st.RegisterPrints(ctx, index.Work{ID: fmt.Sprintf("copy-%02d", i), Tenant: "a"}, index.Prints{Video: excerpt}, false, nil)
		require.NoError(t, err)
	}
	_, err = st.RegisterPrints(ctx, index.Work{ID: "w", Tenant: "b"}, index.Prints{Video: ref.Frames}, false, nil)
	require.NoError(t, err)
	m, err := New(st, DefaultParams(), nil)
	require.NoError(t, err)
	segs, err := m.MatchVideo(ctx, q)
	require.NoError(t, err)
	requireEveryCopy(t, segs, copies)
}

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
}
