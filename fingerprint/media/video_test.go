package media_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// makeVideo renders FFmpeg's testsrc2 through filters into an MP4 (the
// ffmpeg program is installed by make deps).
func makeVideo(t *testing.T, seconds int, filters string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v.mp4")
	args := []string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", strconv.Itoa(seconds)}
	if filters != "" {
		args = append(args, "-vf", filters)
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out)
	b, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func TestDecodeVideo(t *testing.T) {
	ctx := context.Background()
	opts := media.VideoOptions{FPS: 5, Width: 96, Height: 96, SkipNonReference: true}
	tests := []struct {
		name    string
		filters string
		active  media.Rect
	}{
		{"plain", "", media.Rect{W: 96, H: 96}},
		// 240 rows padded to 320: bars of 40 rows top and bottom, 12 of 96.
		{"letterbox", "pad=320:320:0:40", media.Rect{X: 0, Y: 12, W: 96, H: 72}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := makeVideo(t, 4, tc.filters)
			var last media.VideoFrame
			n := 0
			info, err := media.DecodeVideoFile(ctx, path, opts, func(f *media.VideoFrame) error {
				assert.Equal(t, time.Duration(n)*200*time.Millisecond, f.Time)
				assert.Len(t, f.Pix, 96*96)
				n++
				last = *f
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, 20, n)
			assert.Equal(t, 20, info.Frames)
			assert.Equal(t, "h264", info.Codec)
			assert.InDelta(t, tc.active.Y, last.Active.Y, 1)
			assert.InDelta(t, tc.active.H, last.Active.H, 2)
			assert.InDelta(t, tc.active.W, last.Active.W, 2)

			// The same through a reader.
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			info2, err := media.DecodeVideoReader(ctx, bytes.NewReader(b), "reader", opts, func(*media.VideoFrame) error { return nil })
			require.NoError(t, err)
			assert.Equal(t, info.Frames, info2.Frames)
		})
	}
}

func TestDecodeVideoBadInput(t *testing.T) {
	ctx := context.Background()
	opts := media.VideoOptions{FPS: 5, Width: 96, Height: 96}
	nop := func(*media.VideoFrame) error { return nil }
	_, err := media.DecodeVideoReader(ctx, bytes.NewReader([]byte("not a video at all, just text")), "text", opts, nop)
	assert.ErrorIs(t, err, media.ErrUnsupportedMedia)
	wav := encode(t, media.Codec{Encoder: "pcm_s16le", Format: "wav"}, 1)
	_, err = media.DecodeVideoReader(ctx, bytes.NewReader(wav), "audio.wav", opts, nop)
	assert.ErrorIs(t, err, media.ErrNoVideo)
	path := makeVideo(t, 4, "")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = media.DecodeVideoReader(ctx, bytes.NewReader(b[:len(b)/3]), "cut.mp4", opts, nop)
	assert.Error(t, err) // an MP4 cut before its index cannot be read
	_, err = media.DecodeVideoFile(ctx, path, media.VideoOptions{FPS: 0, Width: 96, Height: 96}, nop)
	assert.Error(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = media.DecodeVideoFile(cctx, path, opts, nop)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestSkipNonReferenceSamplesTheSameFrames checks that skipping
// non-reference frames does not change which frame each tick samples:
// every frame of the test video has its own grey level, and the levels
// sampled with skipping must be those sampled from a full decode, at the
// frame rates copies come in, while frames are skipped.
func TestSkipNonReferenceSamplesTheSameFrames(t *testing.T) {
	ctx := context.Background()
	for _, rate := range []string{"25", "30", "15", "24", "30000/1001", "50"} {
		t.Run(strings.ReplaceAll(rate, "/", "_"), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "v.mp4")
			// Frame N is uniformly grey at level 16 + (N*37 mod 220); x264
			// with B-frames (veryfast: 3, one of them a reference).
			b, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
				"-i", "color=black:size=160x120:rate="+rate, "-t", "6",
				"-vf", "geq=lum='16+mod(N*37,220)':cb=128:cr=128",
				"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-pix_fmt", "yuv420p", out).CombinedOutput()
			require.NoError(t, err, string(b))
			levels := func(skip bool) ([]int, media.VideoInfo) {
				var ls []int
				info, err := media.DecodeVideoFile(ctx, out, media.VideoOptions{FPS: 5, Width: 32, Height: 32, SkipNonReference: skip},
					func(f *media.VideoFrame) error {
						sum := 0
						for _, v := range f.Pix {
							sum += int(v)
						}
						ls = append(ls, (sum+len(f.Pix)/2)/len(f.Pix))
						return nil
					})
				require.NoError(t, err)
				return ls, info
			}
			full, fullInfo := levels(false)
			skipped, skipInfo := levels(true)
			require.Len(t, skipped, len(full))
			for i := range full {
				assert.InDelta(t, full[i], skipped[i], 2, "tick %d", i)
			}
			// At 15 frames a second, two frames in three lie near a tick.
			assert.Less(t, skipInfo.DecodedFrames, fullInfo.DecodedFrames, "frames decoded with skipping")
			t.Logf("decoded %d of %d frames", skipInfo.DecodedFrames, fullInfo.DecodedFrames)
		})
	}
}
