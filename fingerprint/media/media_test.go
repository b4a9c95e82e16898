package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint/media"
)

const rate = 8000

// tone returns seconds of a 440 Hz sine at rateHz.
func tone(seconds float64, rateHz int) []float32 {
	s := make([]float32, int(seconds*float64(rateHz)))
	for i := range s {
		s[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rateHz)))
	}
	return s
}

func encode(t testing.TB, c media.Codec, seconds float64) []byte {
	t.Helper()
	b, err := media.EncodeAudio(context.Background(), tone(seconds, 44100), 44100, c)
	require.NoError(t, err)
	return b
}

// emptyWAV is a valid 16-bit mono WAV header announcing zero samples.
func emptyWAV() []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))     // PCM
	le(uint16(1))     // mono
	le(uint32(44100)) // rate
	le(uint32(88200)) // byte rate
	le(uint16(2))     // block align
	le(uint16(16))    // bits
	b.WriteString("data")
	le(uint32(0))
	return b.Bytes()
}

func decodeBytes(b []byte, opts media.AudioOptions) (media.AudioInfo, int, error) {
	n := 0
	info, err := media.DecodeAudioReader(context.Background(), bytes.NewReader(b), "test", opts, func(s []float32) error {
		n += len(s)
		return nil
	})
	return info, n, err
}

// TestEncodeDecode round-trips generated audio through every codec and
// container the benchmark uses, from a seekable and a non-seekable reader.
func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		name  string
		codec media.Codec
	}{
		{"wav", media.Codec{Encoder: "pcm_s16le", Format: "wav"}},
		{"mp3", media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 64000}},
		{"aac", media.Codec{Encoder: "aac", Format: "adts", BitRate: 48000}},
		{"opus", media.Codec{Encoder: "libopus", Format: "ogg", BitRate: 24000}},
		{"vorbis", media.Codec{Encoder: "libvorbis", Format: "ogg"}},
		{"m4a", media.Codec{Encoder: "aac", Format: "ipod", BitRate: 64000}},
		{"matroska", media.Codec{Encoder: "libopus", Format: "matroska"}},
		{"mpegts", media.Codec{Encoder: "libmp3lame", Format: "mpegts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(t, tc.codec, 3)
			info, n, err := decodeBytes(b, media.AudioOptions{SampleRateHz: rate})
			require.NoError(t, err)
			assert.InDelta(t, 3*rate, n, 0.05*3*rate, "samples")
			assert.InDelta(t, 3.0, info.Decoded.Seconds(), 0.15)
			// A non-seekable stream (an upload, a pipe) decodes too, except
			// MP4 whose index is written at the end.
			if tc.name != "m4a" {
				m := 0
				_, err := media.DecodeAudioReader(context.Background(), io.MultiReader(bytes.NewReader(b)), "pipe",
					media.AudioOptions{SampleRateHz: rate}, func(s []float32) error { m += len(s); return nil })
				require.NoError(t, err)
				// Without seeking, MP3's encoder-delay header may be skipped.
				assert.InDelta(t, n, m, 0.01*float64(n))
			}
		})
	}
}

// TestDecodeRealMusic decodes a real public-set recording from its path
// and checks its length against the list.
func TestDecodeRealMusic(t *testing.T) {
	tracks, err := publicset.Default()
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("no public set installed (make deps)")
	}
	require.NoError(t, err)
	tr := tracks[0]
	var n int
	var progress []time.Duration
	info, err := media.DecodeAudioFile(context.Background(), tr.Path, media.AudioOptions{SampleRateHz: rate,
		Progress: func(decoded, declared time.Duration) {
			progress = append(progress, decoded)
			assert.InDelta(t, tr.DurationS, declared.Seconds(), 0.5, "the declared length")
		}}, func(s []float32) error {
		n += len(s)
		return nil
	})
	require.NoError(t, err)
	assert.InDelta(t, tr.DurationS, info.Decoded.Seconds(), 0.1)
	// Progress comes once every ProgressInterval of media.
	require.NotEmpty(t, progress)
	assert.InDelta(t, math.Ceil(tr.DurationS/media.ProgressInterval.Seconds()), len(progress), 1)
	for i := 1; i < len(progress); i++ {
		assert.GreaterOrEqual(t, progress[i]-progress[i-1], media.ProgressInterval)
	}
	assert.Equal(t, "vorbis", info.Codec)
	assert.False(t, info.Truncated)
}

// TestBadInput: every kind of bad input gets a DecodeError naming the
// input and the right sentinel, never a crash or a hang.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	mp3 := encode(t, media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 64000}, 4)
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var img bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 64, 64))
	pic.Set(3, 3, color.White)
	require.NoError(t, png.Encode(&img, pic))

	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope.mp3"), media.ErrNotFound},
		{"empty", write("empty.mp3", nil), media.ErrUnsupportedMedia},
		{"random bytes", write("random.bin", random), media.ErrUnsupportedMedia},
		{"text", write("notes.txt", []byte("id,title\nw1,hello\n")), media.ErrUnsupportedMedia},
		{"image, no audio", write("picture.png", img.Bytes()), media.ErrNoAudio},
		{"header only, zero samples", write("header.wav", emptyWAV()), media.ErrEmpty},
		{"truncated header", write("cut.wav", emptyWAV()[:20]), media.ErrUnsupportedMedia},
	}
	for _, tr := range publicset.MustUndecodable(t) {
		tests = append(tests, struct {
			name string
			path string
			want error
		}{"ffmpeg rejects vorbis header " + filepath.Base(tr), tr, media.ErrUnsupportedMedia})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := media.DecodeAudioFile(context.Background(), tc.path, media.AudioOptions{SampleRateHz: rate}, func([]float32) error { return nil })
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var de *media.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.path, de.Path)
			assert.Contains(t, err.Error(), tc.path)
		})
	}

	t.Run("truncated mp3 decodes what is there", func(t *testing.T) {
		_, n, err := decodeBytes(mp3[:len(mp3)/2], media.AudioOptions{SampleRateHz: rate})
		require.NoError(t, err)
		assert.InDelta(t, 2*rate, n, 0.2*rate)
	})
	t.Run("truncated ogg is flagged", func(t *testing.T) {
		ogg := encode(t, media.Codec{Encoder: "libvorbis", Format: "ogg"}, 8)
		info, _, err := decodeBytes(ogg[:len(ogg)/3], media.AudioOptions{SampleRateHz: rate})
		if err == nil {
			// Ogg declares no total length up front; what matters is that
			// a cut file neither crashes nor claims its full length.
			assert.Less(t, info.Decoded.Seconds(), 6.0)
		}
	})
	t.Run("too long", func(t *testing.T) {
		_, _, err := decodeBytes(mp3, media.AudioOptions{SampleRateHz: rate, MaxDuration: time.Second})
		assert.ErrorIs(t, err, media.ErrTooLong)
	})
	t.Run("bad options", func(t *testing.T) {
		_, _, err := decodeBytes(mp3, media.AudioOptions{SampleRateHz: 10})
		assert.ErrorContains(t, err, "SampleRateHz")
	})
}

// TestCancel: a cancelled context stops decoding promptly, at open and
// mid-stream, with an error that wraps context.Canceled.
func TestCancel(t *testing.T) {
	b := encode(t, media.Codec{Encoder: "pcm_s16le", Format: "wav"}, 60)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := media.DecodeAudioReader(ctx, bytes.NewReader(b), "cancelled", media.AudioOptions{SampleRateHz: rate}, func([]float32) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err = media.DecodeAudioReader(ctx, bytes.NewReader(b), "mid-stream", media.AudioOptions{SampleRateHz: rate}, func([]float32) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestFilters applies an FFmpeg filter chain in process: asetrate plays
// the audio 10 % fast, so it lasts 10 % less.
func TestFilters(t *testing.T) {
	b := encode(t, media.Codec{Encoder: "pcm_s16le", Format: "wav"}, 5)
	info, _, err := decodeBytes(b, media.AudioOptions{SampleRateHz: rate, Filters: "asetrate=48510,aresample=44100"})
	require.NoError(t, err)
	assert.InDelta(t, 5/1.1, info.Decoded.Seconds(), 0.05)
	_, _, err = decodeBytes(b, media.AudioOptions{SampleRateHz: rate, Filters: "nosuchfilter=1"})
	assert.Error(t, err)
}

// FuzzDecodeAudioReader feeds arbitrary bytes to the decoder: it may fail
// but must not crash or hang. Seeds are small valid files of each format
// and mangled copies.
func FuzzDecodeAudioReader(f *testing.F) {
	for _, c := range []media.Codec{
		{Encoder: "pcm_s16le", Format: "wav"},
		{Encoder: "libmp3lame", Format: "mp3", BitRate: 32000},
		{Encoder: "aac", Format: "adts", BitRate: 32000},
		{Encoder: "libopus", Format: "ogg", BitRate: 16000},
	} {
		b := encode(f, c, 0.5)
		f.Add(b)
		f.Add(b[:len(b)/2])
		mangled := bytes.Clone(b)
		for i := 64; i < len(mangled); i += 97 {
			mangled[i] ^= 0x5a
		}
		f.Add(mangled)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = media.DecodeAudioReader(ctx, bytes.NewReader(b), "fuzz", media.AudioOptions{SampleRateHz: rate, MaxDuration: time.Minute}, func([]float32) error { return nil })
	})
}
