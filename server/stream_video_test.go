package server_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
)

// ffmpegCLI runs the ffmpeg command (installed by make deps).
func ffmpegCLI(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
}

// renderPicture renders a 30 s video work to out: drifting colour
// gradients over a panning fractal, a picture that never repeats (testsrc2
// does, every 12 s); with the first 30 s of sound from audio when given.
func renderPicture(t *testing.T, out, audio string) {
	t.Helper()
	args := []string{"-f", "lavfi", "-i", "gradients=size=320x240:rate=25:seed=11:speed=0.02:duration=30",
		"-f", "lavfi", "-i", "sierpinski=size=320x240:rate=25:seed=3:jump=50"}
	maps := []string{"-map", "[v]"}
	if audio != "" {
		args = append(args, "-t", "30", "-i", audio)
		maps = append(maps, "-map", "2:a", "-c:a", "aac", "-b:a", "128k")
	}
	args = append(args, "-filter_complex", "[0:v][1:v]blend=all_mode=average,trim=duration=30,format=yuv420p[v]")
	args = append(append(args, maps...), "-c:v", "libx264", "-preset", "veryfast", "-t", "30", out)
	ffmpegCLI(t, args...)
}

// TestStreamingMatchAudiovisual streams a registered video with its
// sound, between unrelated sound and pictures: one audiovisual segment.
func TestStreamingMatchAudiovisual(t *testing.T) {
	trs := tracks(t, 3)
	dir := t.TempDir()
	work := filepath.Join(dir, "work.mp4")
	renderPicture(t, work, trs[0].Path)
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	f, err := os.Open(work)
	require.NoError(t, err)
	defer f.Close()
	_, err = e.client(t, "admin").Register(ctx, api.WorkMetadata{ID: "CLIP-1", Title: "Music video"}, f, "work.mp4", false)
	require.NoError(t, err)

	// 10 s unrelated (another track over a cellular automaton), 15 s of
	// the work from 8 s in, 10 s unrelated.
	query := filepath.Join(dir, "query.ts")
	ffmpegCLI(t,
		"-f", "lavfi", "-i", "cellauto=size=320x240:rate=25:rule=30,format=yuv420p", "-ss", "40", "-t", "10", "-i", trs[1].Path,
		"-ss", "8", "-t", "15", "-i", work,
		"-f", "lavfi", "-i", "life=size=320x240:rate=25:seed=5,format=yuv420p", "-ss", "40", "-t", "10", "-i", trs[2].Path,
		"-filter_complex",
		"[0:v]trim=duration=10,setpts=PTS-STARTPTS[v0];[1:a]aresample=44100,aformat=channel_layouts=stereo,asetpts=PTS-STARTPTS[a0];"+
			"[2:v]setpts=PTS-STARTPTS[v1];[2:a]aresample=44100,aformat=channel_layouts=stereo,asetpts=PTS-STARTPTS[a1];"+
			"[3:v]trim=duration=10,setpts=PTS-STARTPTS[v2];[4:a]aresample=44100,aformat=channel_layouts=stereo,asetpts=PTS-STARTPTS[a2];"+
			"[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]",
		"-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-c:a", "aac", "-b:a", "128k", "-f", "mpegts", query)
	ts, err := os.ReadFile(query)
	require.NoError(t, err)
	var got []api.Segment
	end, err := e.client(t, "platform").MatchStream(ctx, bytes.NewReader(ts), func(s api.Segment) error {
		got = append(got, s)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 1, "%+v", got)
	s := got[0]
	assert.Equal(t, "CLIP-1", s.ID)
	assert.Equal(t, "audiovisual", s.Modality)
	assert.InDelta(t, 10, s.QueryStartS, 0.5)
	assert.InDelta(t, 8, s.RefStartS, 0.5)
	assert.InDelta(t, 15, s.DurationS, 1)
	assert.Greater(t, s.Confidence, 0.99)
	assert.Equal(t, 1, end.Matches)
}

// TestStreamingMatchVideo streams a live MPEG-TS with no sound: 8 s of
// unrelated pictures, 15 s of a registered video from 5 s in, 30 s more
// unrelated. The picture alone must find the work, located in both, while
// the upload is still open.
func TestStreamingMatchVideo(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg missing (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work.mp4")
	renderPicture(t, work, "")
	query := filepath.Join(dir, "query.ts")
	ffmpegCLI(t,
		"-f", "lavfi", "-i", "life=size=320x240:rate=25:mold=10:ratio=0.2:seed=7,format=yuv420p",
		"-ss", "5", "-t", "15", "-i", work,
		"-f", "lavfi", "-i", "cellauto=size=320x240:rate=25:rule=110,format=yuv420p",
		"-filter_complex", "[0:v]trim=duration=8,setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[2:v]trim=duration=30,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0[v]",
		"-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-f", "mpegts", query)

	e := newEnv(t, server.Config{})
	ctx := context.Background()
	f, err := os.Open(work)
	require.NoError(t, err)
	defer f.Close()
	w, err := e.client(t, "admin").Register(ctx, api.WorkMetadata{ID: "FILM-1", Title: "Test card"}, f, "work.mp4", false)
	require.NoError(t, err)
	require.Equal(t, "FILM-1", w.ID)
	assert.Equal(t, 150, w.VideoFrames, "30 s at 5 frames a second")
	assert.Zero(t, w.Peaks, "no sound")

	ts, err := os.ReadFile(query)
	require.NoError(t, err)
	// Hold back the last 8 % (some 5 s) until the segment is seen: it is
	// final once a window starting after its end is searched (10-15 s).
	cut := len(ts) * 92 / 100
	pr, pw := io.Pipe()
	seen := make(chan struct{}, 1)
	early := make(chan bool, 1)
	go func() {
		pw.Write(ts[:cut])
		select {
		case <-seen:
			early <- true
		case <-time.After(60 * time.Second):
			early <- false
		}
		pw.Write(ts[cut:])
		pw.Close()
	}()
	var got []api.Segment
	end, err := e.client(t, "platform").MatchStream(ctx, pr, func(s api.Segment) error {
		got = append(got, s)
		select {
		case seen <- struct{}{}:
		default:
		}
		return nil
	})
	require.NoError(t, err)
	assert.True(t, <-early, "a segment arrived while the upload was still open")
	require.Len(t, got, 1, "%+v", got)
	s := got[0]
	assert.Equal(t, "FILM-1", s.ID)
	assert.Equal(t, "video", s.Modality)
	assert.InDelta(t, 8, s.QueryStartS, 0.5)
	assert.InDelta(t, 5, s.RefStartS, 0.5)
	assert.InDelta(t, 15, s.DurationS, 1)
	assert.Equal(t, 1, end.Matches)
	assert.InDelta(t, 53, end.Query.DurationS, 0.5)

	// Unrelated pictures only: an end with no match.
	ffmpegCLI(t, "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25", "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-f", "mpegts", filepath.Join(dir, "other.ts"))
	other, err := os.ReadFile(filepath.Join(dir, "other.ts"))
	require.NoError(t, err)
	end, err = e.client(t, "platform").MatchStream(ctx, bytes.NewReader(other), func(s api.Segment) error {
		t.Errorf("unrelated stream matched: %+v", s)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 0, end.Matches)
}
