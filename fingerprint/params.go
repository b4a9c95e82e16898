package fingerprint

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// AudioParams are the parameters of the audio landmark fingerprint. Prints
// made with different parameters cannot be compared: the index stores
// Hash() of the parameters it was built with and refuses others.
type AudioParams struct {
	// SampleRateHz is the rate the audio is resampled to before analysis.
	// The default value is 8000: it keeps 0-4 kHz, where music carries its
	// most robust spectral peaks and which survives phone chains, low
	// bit-rate codecs and band-limiting intact; decode and FFT cost scale
	// with it. Range 4000 to 48000.
	SampleRateHz int
	// WindowSamples is the STFT window length (Hann), a power of two. The
	// default value is 1024 (128 ms at 8 kHz, 7.8 Hz per bin): fine enough
	// in frequency that a semitone is several bins above 250 Hz, which the
	// log-frequency hash needs. Below that, in the bass, a bin spans more
	// than a semitone; parabolic interpolation places those peaks between
	// bins, but their pitch, and the hashes built on them, are coarser
	// than the rest. Range 256 to 8192.
	WindowSamples int
	// HopSamples is the STFT hop. The default value is 256 (32 ms): time
	// resolution well below the 0.2 s offset accuracy we promise, at a
	// quarter of the FFT cost of a 64-sample hop. Range 32 to WindowSamples.
	HopSamples int
	// MinFreqHz and MaxFreqHz bound the band in which peaks are picked.
	// The defaults are 55 and 3500 Hz, six octaves. Most music's bass
	// carries more energy than its upper bands, often by 20 dB: under
	// broadband noise that buries 250-3500 Hz, the bass's peaks survive.
	// Coarse as they are in log-frequency (see WindowSamples), they make
	// hashes that match, and the peak-density cap is shared per octave
	// (see densityBandSemitones), so the bass never crowds out the rest.
	// A phone chain (300-3400 Hz) loses the lowest two octaves and keeps
	// the other four. Against a 250-3500 Hz band the bass raises recall
	// under noise and mixed-in songs and makes the store a third smaller
	// (docs/design/tuning.md).
	MinFreqHz, MaxFreqHz float64
	// BassSplitHz and BassWindowSamples make the analysis two-resolution:
	// below BassSplitHz peaks are picked from spectra of a window of
	// BassWindowSamples (at SampleRateHz) instead of WindowSamples, on the
	// same hop. The defaults are 220 Hz (the lowest two octaves of the
	// band) and 4096 samples (512 ms, 1.95 Hz a bin). With the short
	// window a bin spans 2.5 semitones at 55 Hz and 0.6 at 220: the bass's
	// peaks were coarse, and music's held too few of them to fill the
	// density cap (22 in ten seconds of 55-110 Hz where 50 were allowed).
	// With the long one a semitone is two bins or more everywhere in the
	// bass, and a bass note, which lasts, concentrates four times the
	// energy in its bin against broadband noise's same per-bin power. The
	// bass is decimated first (by the largest power of two that keeps four
	// times BassSplitHz, 8 at 8 kHz), so its 512-sample FFT costs half the
	// main band's. 0 turns the split off: one window for the whole band.
	// The split raises recall under white noise and a mixed-in song for
	// the same store size (docs/design/tuning.md).
	BassSplitHz       float64
	BassWindowSamples int
	// PeakBins and PeakFrames are the half-sizes of the neighbourhood a
	// spectral peak must dominate (it is the maximum of a
	// (2*PeakBins+1) x (2*PeakFrames+1) box of the whitened log spectrum).
	// The defaults are 9 bins (70 Hz) and 4 frames (128 ms), which give
	// 20-40 peaks per second of music. In the bass the box spans an
	// octave, and references keep fewer peaks there than the density cap
	// allows. Design note: a box of ±4 semitones below 260 Hz gains a
	// little under another song mixed in (0.85 to 0.90 at 0 dB), nothing
	// under noise, and makes the store 17 % larger.
	PeakBins, PeakFrames int
	// MinProminence is how far (natural-log magnitude) a peak must rise
	// above the local spectral envelope. The default value is 0.5 (about
	// 4 dB): flat noise rarely does, tonal music always does.
	MinProminence float64
	// MaxPeaksPerSecond caps the peak density; the strongest peaks of each
	// second are kept, the cap shared equally between octave-wide bands
	// (see densityBandSemitones). The default value is 24, four a second
	// per octave: the index's size is proportional to it, and the long
	// bass window fills the bass octaves' share, which a density of 30
	// made 28 % larger for no gain in recall (docs/design/tuning.md).
	MaxPeaksPerSecond int
	// FanOut is how many later peaks each anchor peak is paired with. The
	// default value is 6: more pairs survive noise, at the cost of index
	// size.
	FanOut int
	// MinDeltaFrames and MaxDeltaFrames bound the time between the two
	// peaks of a pair (the target zone). The defaults are 2 and 48 frames
	// (64 ms to 1.5 s): pairs closer than two frames carry little
	// information and are the most sensitive to jitter; 48 fits 6 bits.
	MinDeltaFrames, MaxDeltaFrames int
	// MaxDeltaSemitones bounds the log-frequency distance of a pair. The
	// default value is 12 (an octave): targets within an octave keep the
	// difference field fine-grained, and spread pairs over time rather
	// than over frequency.
	MaxDeltaSemitones float64
	// FreqStepSemitones is the quantisation step of the anchor's
	// log-frequency and of the pair's log-frequency difference in the hash.
	// The default value is 1/3 semitone: peak jitter under noise is about
	// a tenth of that, and the finer the step the fewer unrelated pairs
	// share a hash. In the bass a bin spans several semitones, finer than
	// the pitch's precision there, but a coarser bass step recovered no
	// recall (docs/design/tuning.md).
	FreqStepSemitones float64
}

// DefaultAudioParams returns the default parameters (see each field).
func DefaultAudioParams() AudioParams {
	return AudioParams{
		SampleRateHz:      8000,
		WindowSamples:     1024,
		HopSamples:        256,
		MinFreqHz:         55,
		MaxFreqHz:         3500,
		BassSplitHz:       220,
		BassWindowSamples: 4096,
		PeakBins:          9,
		PeakFrames:        4,
		MinProminence:     0.5,
		MaxPeaksPerSecond: 24,
		FanOut:            6,
		MinDeltaFrames:    2,
		MaxDeltaFrames:    48,
		MaxDeltaSemitones: 12,
		FreqStepSemitones: 1.0 / 3,
	}
}

// Validate reports every invalid field, naming the field, its value and
// the bound it breaks.
func (p AudioParams) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("fingerprint: %s = %v, want %s", field, v, want))
	}
	if p.SampleRateHz < 4000 || p.SampleRateHz > 48000 {
		bad("SampleRateHz", p.SampleRateHz, "4000 to 48000")
	}
	if p.WindowSamples < 256 || p.WindowSamples > 8192 || p.WindowSamples&(p.WindowSamples-1) != 0 {
		bad("WindowSamples", p.WindowSamples, "a power of two from 256 to 8192")
	}
	if p.HopSamples < 32 || p.HopSamples > p.WindowSamples {
		bad("HopSamples", p.HopSamples, "32 to WindowSamples")
	}
	if p.MinFreqHz <= 0 || p.MaxFreqHz <= p.MinFreqHz || p.MaxFreqHz > float64(p.SampleRateHz)/2 {
		bad("MinFreqHz/MaxFreqHz", fmt.Sprintf("%g/%g", p.MinFreqHz, p.MaxFreqHz), "0 < min < max <= SampleRateHz/2")
	}
	if p.BassSplitHz != 0 {
		if p.BassSplitHz <= p.MinFreqHz || p.BassSplitHz >= p.MaxFreqHz {
			bad("BassSplitHz", p.BassSplitHz, "0 (no split) or between MinFreqHz and MaxFreqHz")
		} else if d := p.bassDecimation(); d < 2 {
			bad("BassSplitHz", p.BassSplitHz, "at most SampleRateHz/16 with HopSamples even (the bass is decimated by 2 at least)")
		} else if p.BassWindowSamples <= p.WindowSamples || p.BassWindowSamples > 65536 ||
			p.BassWindowSamples&(p.BassWindowSamples-1) != 0 || p.BassWindowSamples/d < 16 {
			bad("BassWindowSamples", p.BassWindowSamples, fmt.Sprintf("a power of two above WindowSamples, at most 65536 and at least %d", 16*d))
		}
	}
	if p.PeakBins < 1 || p.PeakBins > 64 {
		bad("PeakBins", p.PeakBins, "1 to 64")
	}
	if p.PeakFrames < 1 || p.PeakFrames > 32 {
		bad("PeakFrames", p.PeakFrames, "1 to 32")
	}
	if p.MinProminence < 0 {
		bad("MinProminence", p.MinProminence, ">= 0")
	}
	if p.MaxPeaksPerSecond < 1 {
		bad("MaxPeaksPerSecond", p.MaxPeaksPerSecond, ">= 1")
	}
	if p.FanOut < 1 || p.FanOut > 32 {
		bad("FanOut", p.FanOut, "1 to 32")
	}
	if p.MinDeltaFrames < 1 || p.MinDeltaFrames >= p.MaxDeltaFrames {
		bad("MinDeltaFrames", p.MinDeltaFrames, "1 to MaxDeltaFrames-1")
	}
	if p.MaxDeltaFrames < 2 || p.MaxDeltaFrames > 63 {
		bad("MaxDeltaFrames", p.MaxDeltaFrames, "2 to 63 (6 bits)")
	}
	if p.FreqStepSemitones <= 0 {
		bad("FreqStepSemitones", p.FreqStepSemitones, "> 0")
	} else {
		if n := p.anchorLevels(); n > 1<<anchorBits {
			bad("FreqStepSemitones", p.FreqStepSemitones, fmt.Sprintf("a step giving at most %d anchor levels (got %d)", 1<<anchorBits, n))
		}
		if n := p.deltaLevels(); n > 1<<deltaFreqBits {
			bad("MaxDeltaSemitones", p.MaxDeltaSemitones, fmt.Sprintf("a range giving at most %d levels (got %d)", 1<<deltaFreqBits, n))
		}
	}
	return errors.Join(errs...)
}

// FrameDuration is the time between two STFT frames, in seconds.
func (p AudioParams) FrameDuration() float64 {
	return float64(p.HopSamples) / float64(p.SampleRateHz)
}

// bassDecimation is the factor the bass is decimated by before its
// analysis: the largest power of two, at most 64, that keeps the
// decimated rate at four times BassSplitHz or more (the decimator's
// passband ends at 0.27 of its output rate, see spectrum.Decimator) and
// divides HopSamples. 1 means the bass cannot be decimated.
func (p AudioParams) bassDecimation() int {
	d := 1
	for d < 64 && float64(p.SampleRateHz)/float64(2*d) >= 4*p.BassSplitHz && p.HopSamples%(2*d) == 0 {
		d *= 2
	}
	return d
}

// bandSemitones is the width of the analysed band in semitones.
func (p AudioParams) bandSemitones() float64 {
	return 12 * math.Log2(p.MaxFreqHz/p.MinFreqHz)
}

func (p AudioParams) anchorLevels() int {
	// Query variants shift the anchor by up to maxPitchShiftSemitones
	// either way; leave room so shifted anchors still quantise in range.
	return int(math.Ceil((p.bandSemitones()+2*maxPitchShiftSemitones)/p.FreqStepSemitones)) + 1
}

func (p AudioParams) deltaLevels() int {
	return int(math.Ceil(2*p.MaxDeltaSemitones/p.FreqStepSemitones)) + 1
}

// Hash identifies the parameters: two prints are comparable only when
// their parameter hashes are equal.
func (p AudioParams) Hash() uint64 {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, []int64{
		int64(hashLayoutVersion),
		int64(p.SampleRateHz), int64(p.WindowSamples), int64(p.HopSamples),
		int64(math.Float64bits(p.MinFreqHz)), int64(math.Float64bits(p.MaxFreqHz)),
		int64(p.PeakBins), int64(p.PeakFrames), int64(math.Float64bits(p.MinProminence)),
		int64(p.MaxPeaksPerSecond), int64(p.FanOut), int64(p.MinDeltaFrames), int64(p.MaxDeltaFrames),
		int64(math.Float64bits(p.MaxDeltaSemitones)), int64(math.Float64bits(p.FreqStepSemitones)),
		int64(math.Float64bits(p.BassSplitHz)), int64(p.BassWindowSamples),
	})
	return binary.BigEndian.Uint64(h.Sum(nil))
}
