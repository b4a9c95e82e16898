// Package degrade renders excerpts of reference recordings under the
// conditions users' queries meet: lossy codecs, noise and other music at a
// given SNR, band-limiting, EQ, reverb, speed, tempo and pitch changes.
//
// Everything runs in process: FFmpeg filters through go-astiav (package
// media) for the signal processing, Go for noise and mixing, and
// media.EncodeAudio for the codecs. A rendering is a pure function of the
// excerpt, the condition and the seed, so benchmark queries are
// reproducible.
package degrade

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// WorkRateHz is the sample rate excerpts are rendered at: CD rate, so
// codecs and noise act on full-band audio as they do on users' files.
const WorkRateHz = 44100

// Noise kinds.
const (
	NoiseNone  = ""
	NoiseWhite = "white"
	NoisePink  = "pink"
	// NoiseMix mixes in another recording (Condition.MixPath) at the SNR.
	NoiseMix = "mix"
)

// Condition is one way of degrading a query.
type Condition struct {
	// Name identifies the condition in reports ("mp3-32k", "white-0dB").
	Name string
	// Filters is an FFmpeg filter chain applied to the excerpt at
	// WorkRateHz (e.g. "asetrate=45423,aresample=44100" for speed 1.03).
	Filters string
	// Noise is one of the Noise* kinds; SNRdB its level.
	Noise string
	SNRdB float64
	// Codec, when set, encodes the result (MP3, AAC, Opus...). Otherwise
	// the query is a 16-bit WAV.
	Codec *media.Codec
	// Speed is the query's speed relative to the reference, to check the
	// speed the matcher reports (1 when unchanged; tempo-only changes set
	// it too, since they change the time axis).
	Speed float64
}

// Excerpt is a part of a recording.
type Excerpt struct {
	Path            string
	StartS, LengthS float64
}

// Speed returns a condition playing the excerpt at speed s (tempo and pitch
// together).
func Speed(s float64) Condition {
	return Condition{
		Name:    fmt.Sprintf("speed-%.2f", s),
		Filters: fmt.Sprintf("asetrate=%d,aresample=%d", int(math.Round(WorkRateHz*s)), WorkRateHz),
		Speed:   s,
	}
}

// Tempo returns a tempo-only change by factor s (pitch kept).
func Tempo(s float64) Condition {
	return Condition{Name: fmt.Sprintf("tempo-%.2f", s), Filters: fmt.Sprintf("atempo=%g", s), Speed: s}
}

// Pitch returns a pitch-only change of cents (tempo kept).
func Pitch(cents float64) Condition {
	return Condition{
		Name:    fmt.Sprintf("pitch%+.0fc", cents),
		Filters: fmt.Sprintf("rubberband=pitch=%.6f", math.Pow(2, cents/1200)),
		Speed:   1,
	}
}

// Phone is the telephone chain: 300-3400 Hz band, small-room reverb,
// 8 kHz sampling.
func Phone() Condition {
	return Condition{
		Name:    "phone",
		Filters: "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400,aecho=0.8:0.6:23|41:0.3|0.2,aresample=8000,aresample=44100",
		Speed:   1,
	}
}

// Render returns the excerpt under the condition as a media file in
// memory, and its duration in seconds.
func Render(ctx context.Context, ex Excerpt, c Condition, seed uint64, mix *Excerpt) ([]byte, float64, error) {
	pcm, err := Load(ctx, ex, c.Filters)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	switch c.Noise {
	case NoiseNone:
	case NoiseWhite, NoisePink:
		noise := make([]float32, len(pcm))
		for i := range noise {
			noise[i] = float32(rng.NormFloat64())
		}
		if c.Noise == NoisePink {
			pink(noise)
		}
		addAtSNR(pcm, noise, c.SNRdB)
	case NoiseMix:
		if mix == nil {
			return nil, 0, errors.New("degrade: mix condition without a mix excerpt")
		}
		other, err := Load(ctx, *mix, "")
		if err != nil {
			return nil, 0, err
		}
		for len(other) < len(pcm) { // loop a short mix source
			other = append(other, other...)
		}
		addAtSNR(pcm, other[:len(pcm)], c.SNRdB)
	default:
		return nil, 0, fmt.Errorf("degrade: unknown noise %q", c.Noise)
	}
	normalize(pcm)
	codec := media.Codec{Encoder: "pcm_s16le", Format: "wav"}
	if c.Codec != nil {
		codec = *c.Codec
	}
	b, err := media.EncodeAudio(ctx, pcm, WorkRateHz, codec)
	if err != nil {
		return nil, 0, err
	}
	return b, float64(len(pcm)) / WorkRateHz, nil
}

// Load decodes an excerpt to mono PCM at WorkRateHz, with extra filters
// applied after trimming.
func Load(ctx context.Context, ex Excerpt, filters string) ([]float32, error) {
	chain := fmt.Sprintf("atrim=start=%.6f:duration=%.6f,asetpts=PTS-STARTPTS,aresample=%d", ex.StartS, ex.LengthS, WorkRateHz)
	if filters != "" {
		chain += "," + filters
	}
	var pcm []float32
	_, err := media.DecodeAudioFile(ctx, ex.Path, media.AudioOptions{SampleRateHz: WorkRateHz, Filters: chain},
		func(s []float32) error { pcm = append(pcm, s...); return nil })
	if err != nil {
		return nil, err
	}
	return pcm, nil
}

func power(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / math.Max(1, float64(len(x)))
}

// addAtSNR adds noise to signal, scaled so that signal power over noise
// power is snrDB.
func addAtSNR(signal, noise []float32, snrDB float64) {
	ps, pn := power(signal), power(noise)
	if pn == 0 {
		return
	}
	if ps == 0 {
		ps = 1e-4 // a silent excerpt: noise at a quiet reference level
	}
	g := math.Sqrt(ps / (pn * math.Pow(10, snrDB/10)))
	for i := range signal {
		signal[i] += float32(g) * noise[i]
	}
}

// pink filters white noise to a 1/f spectrum (Paul Kellet's economy
// filter, accurate to ±0.5 dB above 10 Hz at 44.1 kHz).
func pink(x []float32) {
	var b0, b1, b2 float64
	for i, w := range x {
		white := float64(w)
		b0 = 0.99765*b0 + white*0.0990460
		b1 = 0.96300*b1 + white*0.2965164
		b2 = 0.57000*b2 + white*1.0526913
		x[i] = float32(b0 + b1 + b2 + white*0.1848)
	}
}

// normalize scales the signal down if it would clip in 16 bits.
func normalize(x []float32) {
	peak := float32(0)
	for _, v := range x {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	if peak > 0.99 {
		g := 0.99 / peak
		for i := range x {
			x[i] *= g
		}
	}
}
