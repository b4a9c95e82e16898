package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/publicset"
)

// pcmWAV is a 16-bit PCM WAV of channels interleaved channels of noise
// and tones at rateHz (the plain WAVEFORMAT header has no channel mask, so
// FFmpeg gives more than two channels an unspecified order).
func pcmWAV(channels, rateHz int, seconds float64) []byte {
	n := int(seconds * float64(rateHz))
	rng := rand.New(rand.NewPCG(uint64(channels), uint64(rateHz)))
	var data bytes.Buffer
	for i := range n {
		for c := range channels {
			v := 0.3*math.Sin(2*math.Pi*float64(220*(c+1))*float64(i)/float64(rateHz)) + 0.1*rng.NormFloat64()
			_ = binary.Write(&data, binary.LittleEndian, int16(max(-1, min(1, v))*32000))
		}
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + data.Len()))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(channels))
	le(uint32(rateHz))
	le(uint32(rateHz * channels * 2))
	le(uint16(channels * 2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// TestResamplerMatchesFilterGraph: libswresample called directly hands over
// exactly the samples the aresample filter graph it replaces did (same
// library, same options), for every layout and format the decoders give,
// so prints registered before the change stay comparable.
func TestResamplerMatchesFilterGraph(t *testing.T) {
	ctx := context.Background()
	type input struct {
		name string
		data []byte // the input, or else
		path string // a file
	}
	inputs := []input{
		{name: "mono 44.1 kHz s16", data: pcmWAV(1, 44100, 3)},
		{name: "stereo 48 kHz s16", data: pcmWAV(2, 48000, 3)},
		{name: "6 channels, unspecified order, 32 kHz", data: pcmWAV(6, 32000, 2)},
		{name: "mono 8 kHz (no rate change)", data: pcmWAV(1, 8000, 2)},
	}
	mono := make([]float32, 3*44100)
	for i := range mono {
		mono[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/44100))
	}
	for _, c := range []Codec{
		{Encoder: "libvorbis", Format: "ogg"},
		{Encoder: "libmp3lame", Format: "mp3", BitRate: 64000},
		{Encoder: "aac", Format: "adts", BitRate: 48000},
		{Encoder: "libopus", Format: "ogg", BitRate: 24000},
	} {
		b, err := EncodeAudio(ctx, mono, 44100, c)
		require.NoError(t, err)
		inputs = append(inputs, input{name: c.Encoder, data: b})
	}
	// Two MP3 streams back to back, at 44.1 and 22.05 kHz: the decoder's
	// frames change sample rate mid-way, so the resampler is flushed and
	// reopened (the graph is rebuilt).
	var changing []byte
	for _, rate := range []int{44100, 22050} {
		pcm := make([]float32, 2*rate)
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(2*math.Pi*330*float64(i)/float64(rate)))
		}
		b, err := EncodeAudio(ctx, pcm, rate, Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 64000})
		require.NoError(t, err)
		changing = append(changing, b...)
	}
	inputs = append(inputs, input{name: "MP3 changing rate mid-stream", data: changing})
	if tracks, err := publicset.Default(); err == nil {
		for _, tr := range tracks[:min(3, len(tracks))] {
			inputs = append(inputs, input{name: tr.Name(), path: tr.Path})
		}
	} else if !errors.Is(err, publicset.ErrNoList) {
		require.NoError(t, err)
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			decode := func(viaGraph bool) ([]float32, AudioInfo) {
				var out []float32
				url, rd := "", io.Reader(nil)
				if in.path != "" {
					url = "file:" + in.path
				} else {
					rd = bytes.NewReader(in.data)
				}
				info, err := decodeAudioWith(ctx, in.name, url, rd, AudioOptions{SampleRateHz: 8000},
					func(s []float32) error { out = append(out, s...); return nil }, false, viaGraph)
				require.NoError(t, err)
				return out, info
			}
			graph, gi := decode(true)
			direct, di := decode(false)
			if in.name == "MP3 changing rate mid-stream" {
				assert.InDelta(t, 4.0, di.Decoded.Seconds(), 0.2, "both streams decoded")
			}
			require.NotEmpty(t, graph)
			assert.Equal(t, gi.Samples, di.Samples)
			assert.Equal(t, gi.Decoded, di.Decoded)
			require.Equal(t, len(graph), len(direct))
			for i := range graph {
				if graph[i] != direct[i] {
					t.Fatalf("sample %d of %d: graph %v, direct %v", i, len(graph), graph[i], direct[i])
				}
			}
		})
	}
}
