package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ffmpegCLI runs the ffmpeg program (installed by make deps).
func ffmpegCLI(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
}

// TestMatchStillPictureWithSound registers a song published as a video of
// one still picture (cover art: the commonest music upload) and matches
// excerpts of it. The picture search cannot place a still, which matches
// at every offset; the sound places it, and the picture is then checked
// at the sound's times.
func TestMatchStillPictureWithSound(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg missing (make deps installs it): %v", err)
	}
	trs := tracks(t, 1)
	dir := t.TempDir()
	still := func(name, source string) string {
		p := filepath.Join(dir, name)
		ffmpegCLI(t, "-f", "lavfi", "-i", source, "-frames:v", "1", p)
		return p
	}
	cover := still("cover.png", "testsrc2=size=480x360:rate=1")
	other := still("other.png", "mandelbrot=size=480x360:rate=1")
	work := filepath.Join(dir, "work.mp4")
	ffmpegCLI(t, "-loop", "1", "-framerate", "25", "-i", cover, "-t", "60", "-i", trs[0].Path,
		"-map", "0:v", "-map", "1:a", "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", work)
	db := filepath.Join(dir, "db")
	code, _, stderr := cli(t, "register", "--db", db, "--id", "SONG-1", work)
	require.Equal(t, 0, code, stderr)

	// Excerpts from 30 s: the work's own picture re-encoded and cropped;
	// the work's sound over another still; the picture with no sound.
	excerpt := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		ffmpegCLI(t, append(args, p)...)
		return p
	}
	for _, tc := range []struct {
		name     string
		query    string
		modality string // "" for no match
	}{
		{"picture and sound", excerpt("q.mp4", "-ss", "30", "-t", "10", "-i", work,
			"-vf", "crop=iw*0.9:ih*0.9,scale=-2:240", "-c:v", "libx264", "-crf", "32", "-c:a", "aac"), "audiovisual"},
		{"sound over another picture", excerpt("other.mp4", "-loop", "1", "-framerate", "25", "-i", other,
			"-ss", "30", "-t", "10", "-i", work, "-map", "0:v", "-map", "1:a", "-shortest",
			"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"), "audio"},
		{"still picture alone", excerpt("mute.mp4", "-ss", "30", "-t", "10", "-i", work, "-an", "-c:v", "libx264"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "match", "--db", db, "--json", tc.query)
			require.Equal(t, 0, code, stderr)
			var out matchOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			if tc.modality == "" {
				assert.Empty(t, out.Matches, "a still alone places the clip nowhere: no match rather than a guessed time")
				return
			}
			require.Len(t, out.Matches, 1, stdout)
			m := out.Matches[0]
			assert.Equal(t, "SONG-1", m.ID)
			assert.Equal(t, tc.modality, m.Modality)
			assert.InDelta(t, 30, m.RefStartS-m.QueryStartS, 0.2)
			assert.InDelta(t, 10, m.DurationS, 0.5)
			assert.Greater(t, m.Confidence, 0.99)
		})
	}
}
