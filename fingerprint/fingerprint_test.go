package fingerprint_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
)

// melody renders a deterministic random melody of decaying harmonic notes
// over a bass line two octaves down, with noise: a generated signal with
// music's structure (onsets, harmonics, changing pitch, both sides of the
// bass split) and no licence.
func melody(seconds float64, seed uint64, rateHz int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([]float32, int(seconds*float64(rateHz)))
	noteLen := rateHz / 4
	for start := 0; start < len(out); start += noteLen {
		f0 := 220 * math.Pow(2, float64(rng.IntN(24))/12)
		for i := 0; i < noteLen && start+i < len(out); i++ {
			t := float64(i) / float64(rateHz)
			env := math.Exp(-3 * t)
			v := 0.0
			for h := 1; h <= 4; h++ {
				v += math.Sin(2*math.Pi*f0*float64(h)*t) / float64(h)
			}
			v += 0.5 * math.Sin(2*math.Pi*f0/4*t)
			out[start+i] += float32(0.3 * env * v)
		}
	}
	for i := range out {
		out[i] += float32(0.01 * rng.NormFloat64())
	}
	return out
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, fingerprint.DefaultAudioParams().Validate())
	tests := []struct {
		name   string
		mutate func(*fingerprint.AudioParams)
		want   string
	}{
		{"rate", func(p *fingerprint.AudioParams) { p.SampleRateHz = 100 }, "SampleRateHz = 100"},
		{"window not power of two", func(p *fingerprint.AudioParams) { p.WindowSamples = 1000 }, "WindowSamples = 1000"},
		{"hop", func(p *fingerprint.AudioParams) { p.HopSamples = 4096 }, "HopSamples = 4096"},
		{"band", func(p *fingerprint.AudioParams) { p.MaxFreqHz = 50 }, "MinFreqHz/MaxFreqHz"},
		{"fan-out", func(p *fingerprint.AudioParams) { p.FanOut = 0 }, "FanOut = 0"},
		{"dt", func(p *fingerprint.AudioParams) { p.MaxDeltaFrames = 64 }, "MaxDeltaFrames = 64"},
		{"bass split outside the band", func(p *fingerprint.AudioParams) { p.BassSplitHz = 40 }, "BassSplitHz = 40"},
		{"bass split too high to decimate", func(p *fingerprint.AudioParams) { p.BassSplitHz = 1500 }, "BassSplitHz = 1500"},
		{"bass window not longer", func(p *fingerprint.AudioParams) { p.BassWindowSamples = 1024 }, "BassWindowSamples = 1024"},
		{"bass window not power of two", func(p *fingerprint.AudioParams) { p.BassWindowSamples = 3000 }, "BassWindowSamples = 3000"},
		{"step too fine for the hash", func(p *fingerprint.AudioParams) { p.FreqStepSemitones = 0.1 }, "FreqStepSemitones = 0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fingerprint.DefaultAudioParams()
			tc.mutate(&p)
			assert.ErrorContains(t, p.Validate(), tc.want)
			assert.NotEqual(t, fingerprint.DefaultAudioParams().Hash(), p.Hash())
		})
	}
	t.Run("every violation reported", func(t *testing.T) {
		p := fingerprint.DefaultAudioParams()
		p.FanOut, p.PeakBins = 0, 0
		err := p.Validate()
		assert.ErrorContains(t, err, "FanOut")
		assert.ErrorContains(t, err, "PeakBins")
	})
}

func TestExtractDeterministicAndStreaming(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	sig := melody(20, 1, p.SampleRateHz)
	whole, err := fingerprint.ExtractSamples(sig, p)
	require.NoError(t, err)
	assert.Greater(t, len(whole.Peaks), 20*15, "peaks for 20 s of melody")
	assert.LessOrEqual(t, len(whole.Peaks), 21*p.MaxPeaksPerSecond)

	// Writing in odd-sized chunks gives the same peaks as writing at once.
	e, err := fingerprint.NewExtractor(p)
	require.NoError(t, err)
	for off := 0; off < len(sig); off += 777 {
		e.Write(sig[off:min(len(sig), off+777)])
	}
	assert.Equal(t, whole.Peaks, e.Finish())

	for i := 1; i < len(whole.Peaks); i++ {
		require.LessOrEqual(t, whole.Peaks[i-1].Time, whole.Peaks[i].Time, "peaks in time order")
	}
}

func TestTakeReadyIsFinal(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	// Melody, two seconds of silence (no peaks: the horizon must still
	// advance), melody again.
	sig := append(melody(7, 2, p.SampleRateHz), make([]float32, 2*p.SampleRateHz)...)
	sig = append(sig, melody(6, 3, p.SampleRateHz)...)
	whole, err := fingerprint.ExtractSamples(sig, p)
	require.NoError(t, err)

	e, err := fingerprint.NewExtractor(p)
	require.NoError(t, err)
	var got []fingerprint.Peak
	var last float32
	for off := 0; off < len(sig); off += 1000 {
		e.Write(sig[off:min(len(sig), off+1000)])
		ready, horizon := e.TakeReady()
		require.GreaterOrEqual(t, horizon, last, "the horizon never moves back")
		for _, pk := range ready {
			require.Less(t, pk.Time, horizon)
			require.GreaterOrEqual(t, pk.Time, last, "a ready peak is never older than the previous horizon")
		}
		if off > 8*p.SampleRateHz && off < 9*p.SampleRateHz {
			assert.Greater(t, float64(horizon), 7.5/p.FrameDuration(), "horizon advances through silence")
		}
		last = horizon
		got = append(got, ready...)
	}
	assert.Equal(t, whole.Peaks, append(got, e.Finish()...))
}

func TestSilenceHasNoPeaks(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	ap, err := fingerprint.ExtractSamples(make([]float32, 10*p.SampleRateHz), p)
	require.NoError(t, err)
	assert.Empty(t, ap.Peaks)
}

// TestQueryHashesCoverReference: an excerpt of a signal, cut at an offset
// that is not a multiple of the hop, yields most of the reference's hashes
// at the right offset (the soft quantisation and interpolated times at
// work), and a speed-changed excerpt does under the Speed variant.
func TestQueryHashesCoverReference(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	ref := melody(30, 2, p.SampleRateHz)
	refPrint, err := fingerprint.ExtractSamples(ref, p)
	require.NoError(t, err)
	refSet := map[uint32][]float32{}
	for _, lm := range p.Landmarks(refPrint.Peaks) {
		refSet[lm.Hash] = append(refSet[lm.Hash], lm.Time)
	}
	startSamples := 10*p.SampleRateHz + 97 // 10.012 s: off the frame grid
	frameOffset := float64(startSamples) / float64(p.HopSamples)

	aligned := func(q []fingerprint.Peak, v fingerprint.Variant) float64 {
		pairs, hit := map[int]bool{}, map[int]bool{}
		p.QueryHashes(q, v, func(pair int, tm float64, h uint32) {
			pairs[pair] = true
			for _, rt := range refSet[h] {
				if math.Abs(float64(rt)-(tm+frameOffset)) < 2 {
					hit[pair] = true
				}
			}
		})
		return float64(len(hit)) / float64(len(pairs))
	}

	q, err := fingerprint.ExtractSamples(ref[startSamples:startSamples+10*p.SampleRateHz], p)
	require.NoError(t, err)
	assert.Greater(t, aligned(q.Peaks, fingerprint.Variant{TimeScale: 1}), 0.5, "clean excerpt")
	assert.Less(t, aligned(q.Peaks, fingerprint.Speed(1.06)), 0.05, "a wrong variant aligns almost nothing")
}

func TestPeaksEncoding(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	ap, err := fingerprint.ExtractSamples(melody(10, 3, p.SampleRateHz), p)
	require.NoError(t, err)
	b := fingerprint.AppendPeaks(nil, ap.Peaks)
	got, err := fingerprint.DecodePeaks(b)
	require.NoError(t, err)
	assert.Equal(t, ap.Peaks, got, "extractor output is already quantised: lossless")
	assert.Less(t, float64(len(b))/float64(len(ap.Peaks)), 5.5, "bytes per peak")

	for _, bad := range [][]byte{nil, {0x05}, b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		_, err := fingerprint.DecodePeaks(bad)
		assert.ErrorIs(t, err, fingerprint.ErrCorruptPeaks)
	}
}

// FuzzDecodePeaks: arbitrary bytes never panic, and whatever decodes
// re-encodes to the same bytes.
func FuzzDecodePeaks(f *testing.F) {
	p := fingerprint.DefaultAudioParams()
	ap, _ := fingerprint.ExtractSamples(melody(2, 4, p.SampleRateHz), p)
	f.Add(fingerprint.AppendPeaks(nil, ap.Peaks))
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		peaks, err := fingerprint.DecodePeaks(b)
		if err != nil {
			return
		}
		again, err := fingerprint.DecodePeaks(fingerprint.AppendPeaks(nil, peaks))
		require.NoError(t, err)
		require.Equal(t, peaks, again)
	})
}

// BenchmarkExtract measures peak extraction from PCM, with the default
// bass split and with one window (BassSplitHz 0) for comparison.
func BenchmarkExtract(b *testing.B) {
	for _, tc := range []struct {
		name  string
		split float64
	}{{"split", fingerprint.DefaultAudioParams().BassSplitHz}, {"one-window", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			p := fingerprint.DefaultAudioParams()
			p.BassSplitHz = tc.split
			sig := melody(60, 5, p.SampleRateHz)
			b.ReportAllocs()
			b.SetBytes(int64(len(sig) * 4))
			for b.Loop() {
				_, _ = fingerprint.ExtractSamples(sig, p)
			}
			b.ReportMetric(60*float64(b.N)/b.Elapsed().Seconds(), "audio-s/s")
		})
	}
}

// TestBassResolution: below BassSplitHz peaks come from the long window, on
// the same time grid as the rest. Bursts of a bass tone and of a tone
// above the split, sounding together, give peaks at the same times, and
// the bass's pitch is within a quarter of a semitone where the short
// window's bins span 2.5 semitones.
func TestBassResolution(t *testing.T) {
	p := fingerprint.DefaultAudioParams()
	const rate = 8000
	const bassHz, highHz = 61.7, 830.6 // B1, G#5: between bins of both windows
	sig := make([]float32, 12*rate)
	for b := 0; b < 16; b++ {
		start := (0.5 + 0.7*float64(b)) * rate
		n := 0.25 * rate
		for i := 0; i < int(n); i++ {
			env := math.Sin(math.Pi * float64(i) / n)
			ti := float64(i) / rate
			sig[int(start)+i] += float32(env * (0.5*math.Sin(2*math.Pi*bassHz*ti) + 0.2*math.Sin(2*math.Pi*highHz*ti)))
		}
	}
	wantBass := 12 * math.Log2(bassHz/p.MinFreqHz)
	wantHigh := 12 * math.Log2(highHz/p.MinFreqHz)
	for _, split := range []float64{220, 0} {
		q := p
		q.BassSplitHz = split
		ap, err := fingerprint.ExtractSamples(sig, q)
		require.NoError(t, err)
		var bass, high []fingerprint.Peak
		for _, pk := range ap.Peaks {
			switch {
			case math.Abs(float64(pk.Pitch)-wantBass) < 1.5:
				bass = append(bass, pk)
			case math.Abs(float64(pk.Pitch)-wantHigh) < 0.5:
				high = append(high, pk)
			}
		}
		require.GreaterOrEqual(t, len(high), 14, "split %g: peaks of the high tone", split)
		require.GreaterOrEqual(t, len(bass), 12, "split %g: peaks of the bass tone", split)
		if split == 0 {
			continue
		}
		for _, b := range bass {
			assert.InDelta(t, wantBass, b.Pitch, 0.25, "bass peak at frame %.2f", b.Time)
			// The burst's high peak sounds at the same time.
			near := math.Inf(1)
			for _, h := range high {
				near = min(near, math.Abs(float64(h.Time-b.Time)))
			}
			assert.Less(t, near, 0.6, "bass peak at frame %.2f: nearest high peak %.2f frames away", b.Time, near)
		}
	}
}
