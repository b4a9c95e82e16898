package fingerprint

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint/spectrum"
)

// Peak is one spectral peak: a point of the time-frequency plane that
// dominates its neighbourhood.
type Peak struct {
	// Time is the peak's time in STFT frames (seconds = Time * HopSamples /
	// SampleRateHz), interpolated between frames and rounded to 1/16 frame
	// (timeScale), so that a query whose frame grid is offset from the
	// reference's still yields the same time differences.
	Time float32
	// Strength is the peak's prominence over the spectral envelope
	// (natural-log magnitude), rounded to 1/32. Pairing prefers strong
	// targets, which noise displaces least.
	Strength float32
	// Pitch is the peak's frequency in semitones above MinFreqHz,
	// interpolated between FFT bins (log-frequency makes a pitch change a
	// shift and keeps the distance between two peaks invariant).
	Pitch float32
}

// Extractor turns a stream of mono PCM at AudioParams.SampleRateHz into
// spectral peaks. Memory is bounded by the windows and the peak
// neighbourhood (plus the peaks themselves), not by the stream length.
// An Extractor is used by one goroutine.
//
// It analyses two resolutions (see AudioParams.BassSplitHz): the band
// above the split with WindowSamples at the full rate, the bass below it
// with BassWindowSamples' span, at a rate decimated so that the long
// window costs no more than a short one. Peaks of both come out on the
// same frame grid, in time order.
type Extractor struct {
	main    *bandExtractor
	bass    *bandExtractor      // nil without a bass split
	dec     *spectrum.Decimator // feeds bass
	held    []Peak              // peaks taken from a band, beyond the common horizon
	horizon float32
}

// bandExtractor picks the peaks of one band at one resolution.
type bandExtractor struct {
	p       AudioParams        // the band's analysis: rate, window, hop and band edges
	spec    *spectrum.Analyzer // Hann-windowed log-magnitude spectra
	pending []float32          // samples not yet consumed by a frame

	baseHz  float64 // pitch 0 (the print's MinFreqHz)
	shift   float64 // frames of the print's grid before this band's frame 0's centre
	bands   int     // octave bands of the density cap, over the whole print
	perBand int     // peaks a second each keeps
	// blockCap is perBand times the octave bands this band overlaps: a
	// second with no more peaks keeps them all.
	blockCap int

	kmin, kmax int // analysed FFT bins [kmin, kmax)
	nbins      int
	logMag     []float32 // the band's log magnitudes, nbins a frame, scratch
	// Ring of the last 2*PeakFrames+1 whitened columns, their order keys
	// and the keys' frequency-wise sliding maxima (see columnRing).
	ring    *columnRing
	found   []columnPeak // peaks of the last analyse, scratch
	nFrames int          // frames computed so far

	// Peaks of the current one-second block, before the density cap.
	block      []strongPeak
	blockStart int
	framesPerS int

	peaks   []Peak
	horizon float32 // last horizon takeReady reported, in the band's frames
}

type strongPeak struct {
	Peak
}

// NewExtractor returns an extractor for the given parameters.
func NewExtractor(p AudioParams) (*Extractor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	bands := max(1, int(math.Ceil(p.bandSemitones()/densityBandSemitones)))
	perBand := max(1, p.MaxPeaksPerSecond/bands)
	if p.BassSplitHz == 0 {
		main, err := newBandExtractor(p, p.MinFreqHz, 0, bands, perBand)
		if err != nil {
			return nil, err
		}
		return &Extractor{main: main}, nil
	}
	mp := p
	mp.MinFreqHz = p.BassSplitHz
	main, err := newBandExtractor(mp, p.MinFreqHz, 0, bands, perBand)
	if err != nil {
		return nil, err
	}
	d := p.bassDecimation()
	dec, err := spectrum.NewDecimator(d)
	if err != nil {
		main.spec.Close()
		return nil, err
	}
	bp := p
	bp.SampleRateHz = p.SampleRateHz / d
	bp.WindowSamples = p.BassWindowSamples / d
	bp.HopSamples = p.HopSamples / d
	bp.MaxFreqHz = p.BassSplitHz
	// Frame j of the bass is centred on input sample Hop*j + Delay +
	// d*(its window - 1)/2, frame c of the main band on Hop*c +
	// (WindowSamples-1)/2.
	centre := dec.Delay() + float64(d)*float64(bp.WindowSamples-1)/2
	shift := (centre - float64(p.WindowSamples-1)/2) / float64(p.HopSamples)
	bass, err := newBandExtractor(bp, p.MinFreqHz, shift, bands, perBand)
	if err != nil {
		main.spec.Close()
		return nil, err
	}
	return &Extractor{main: main, bass: bass, dec: dec}, nil
}

func newBandExtractor(p AudioParams, baseHz, shift float64, bands, perBand int) (*bandExtractor, error) {
	n := p.WindowSamples
	spec, err := spectrum.New(n)
	if err != nil {
		return nil, err
	}
	e := &bandExtractor{p: p, spec: spec, baseHz: baseHz, shift: shift, bands: bands, perBand: perBand}
	binHz := float64(p.SampleRateHz) / float64(n)
	e.kmin = int(math.Floor(p.MinFreqHz / binHz))
	e.kmax = int(math.Ceil(p.MaxFreqHz/binHz)) + 1
	if e.kmax > n/2 {
		e.kmax = n / 2
	}
	e.nbins = e.kmax - e.kmin
	e.ring = newColumnRing(e.nbins, 2*p.PeakBins, p.PeakBins, 2*p.PeakFrames+1, p.MinProminence)
	e.framesPerS = int(math.Round(1 / p.FrameDuration()))
	e.blockCap = perBand * max(1, int(math.Ceil(p.bandSemitones()/densityBandSemitones)))
	return e, nil
}

// Write consumes samples. It may be called with chunks of any size.
func (e *Extractor) Write(samples []float32) {
	e.main.write(samples)
	if e.bass != nil {
		e.bass.write(e.dec.Write(samples))
	}
}

// Frames is the number of STFT frames computed so far.
func (e *Extractor) Frames() int { return e.main.nFrames }

// TakeReady removes and returns, in time order, the peaks that are final:
// every peak earlier than the returned horizon (in frames). Peaks are
// final once their one-second density block has closed; interpolated
// times reach half a frame either side of their column, hence the margin.
// The bass's long window sees later samples than the main band's column of
// the same time, so its peaks come later: the horizon is the earlier of
// the two bands'. Streaming consumers (a live match) call it after each
// Write; Finish then returns only the peaks not taken yet.
func (e *Extractor) TakeReady() (peaks []Peak, horizon float32) {
	if e.bass == nil {
		return e.main.takeReady()
	}
	mp, mh := e.main.takeReady()
	bp, bh := e.bass.takeReady()
	horizon = max(e.horizon, min(mh, bh))
	e.horizon = horizon
	if len(mp)+len(bp) > 0 {
		e.held = mergePeaks(append(e.held, mp...), bp)
	}
	if horizon <= 0 {
		return nil, 0
	}
	n := 0
	for n < len(e.held) && e.held[n].Time < horizon {
		n++
	}
	ready := slices.Clone(e.held[:n])
	e.held = append(e.held[:0], e.held[n:]...)
	return ready, horizon
}

// Finish flushes the pipeline and returns every peak not taken by
// TakeReady, in time order. The extractor must not be used afterwards.
func (e *Extractor) Finish() []Peak {
	last := float32(e.main.nFrames)
	peaks := e.main.finish()
	if e.bass == nil {
		return peaks
	}
	// The bass's last frames, whose long window would reach past the
	// stream's end, are not computed; its peaks stop short of the main
	// band's by half that window.
	bass := slices.DeleteFunc(e.bass.finish(), func(pk Peak) bool { return pk.Time >= last })
	return mergePeaks(append(e.held, peaks...), bass)
}

// mergePeaks appends b to a and sorts the whole by time, then pitch: the
// order must not depend on which band a peak came from nor on when it was
// taken, so that a streamed print equals the whole one.
func mergePeaks(a, b []Peak) []Peak {
	a = append(a, b...)
	slices.SortStableFunc(a, func(x, y Peak) int {
		return cmp.Or(cmp.Compare(x.Time, y.Time), cmp.Compare(x.Pitch, y.Pitch))
	})
	return a
}

// write consumes samples at the band's rate.
func (e *bandExtractor) write(samples []float32) {
	e.pending = append(e.pending, samples...)
	n, hop := e.p.WindowSamples, e.p.HopSamples
	off := 0
	for len(e.pending)-off >= n {
		frames := min((len(e.pending)-off-n)/hop+1, analyseBatch)
		e.analyse(e.pending[off:], frames)
		off += frames * hop
	}
	// Keep the unconsumed tail; the copy keeps pending's memory bounded.
	e.pending = append(e.pending[:0], e.pending[off:]...)
}

// analyseBatch is the most frames analyse takes at once: half a second at
// the default hop, the chunk ExtractFile writes, with the spectra of a
// batch (27 KB at the default parameters) in the CPU's first-level cache.
const analyseBatch = 16

// takeReady is TakeReady for one band; times and the horizon are on the
// print's frame grid (the band's shifted by e.shift).
func (e *bandExtractor) takeReady() (peaks []Peak, horizon float32) {
	// Columns from nFrames-PeakFrames on are not picked yet; an open
	// density block may still drop or keep any of its peaks.
	picked := e.nFrames - e.p.PeakFrames // columns before this are picked
	if len(e.block) > 0 && picked >= e.blockStart+e.framesPerS {
		// Every column of the open block is picked: close it now rather
		// than when the next peak comes (silence may follow for long).
		e.flushBlock()
	}
	own := float32(picked - 1)
	if len(e.block) > 0 {
		own = min(own, float32(e.blockStart-1))
	}
	// A block opened after a flushed one starts at its second's first
	// column, before the old horizon; its peaks come from later columns.
	own = max(own, e.horizon)
	e.horizon = own
	if own <= 0 {
		return nil, 0
	}
	horizon = own + float32(e.shift)
	n := 0
	for n < len(e.peaks) && e.peaks[n].Time < horizon {
		n++
	}
	// A block's peaks are sorted; neighbouring blocks may cross by up to a
	// frame, so a few later peaks can still fall below the horizon.
	ready := make([]Peak, 0, n+4)
	rest := e.peaks[:0]
	for _, pk := range e.peaks {
		if pk.Time < horizon {
			ready = append(ready, pk)
		} else {
			rest = append(rest, pk)
		}
	}
	e.peaks = rest
	slices.SortStableFunc(ready, func(x, y Peak) int { return cmp.Compare(x.Time, y.Time) })
	return ready, horizon
}

// finish flushes the band and returns its peaks not taken yet, in time
// order, and frees its analyser.
func (e *bandExtractor) finish() []Peak {
	// Pad with silence so the last real frames get their future
	// neighbourhood, then close the last density block.
	last := float32(float64(e.nFrames) + e.shift)
	silence := make([]float32, e.p.HopSamples)
	for range e.p.PeakFrames {
		e.write(silence)
	}
	e.flushBlock()
	// Drop peaks found in the padding. Interpolated times of neighbouring
	// columns may cross by up to a frame: sort, so every consumer (pairing,
	// the delta-coded encoding) sees time order.
	e.peaks = slices.DeleteFunc(e.peaks, func(pk Peak) bool { return pk.Time >= last })
	slices.SortStableFunc(e.peaks, func(x, y Peak) int { return cmp.Compare(x.Time, y.Time) })
	e.spec.Close()
	return e.peaks
}

// analyse computes the STFT columns of frames frames of samples (one
// every hop), whitens them, and picks the peaks of each column that
// then has its full time neighbourhood (see columnRing for both).
// Whitening subtracts the spectral envelope (a moving average over
// 4*PeakBins+1 bins), so peaks are judged by prominence, not level: the
// picking is indifferent to gain, EQ and tilt. A peak is the maximum of
// its (2*PeakBins+1) x (2*PeakFrames+1) box and rises MinProminence above
// the envelope. Both steps take one call into C for all the frames.
func (e *bandExtractor) analyse(samples []float32, frames int) {
	if need := frames * e.nbins; cap(e.logMag) < need {
		e.logMag = make([]float32, need)
	}
	lm := e.logMag[:frames*e.nbins]
	e.spec.LogMagnitudes(lm, samples, e.p.HopSamples, frames, e.kmin)
	e.found = e.ring.addFrames(e.found[:0], lm, frames, e.nFrames, e.p.PeakFrames)
	e.nFrames += frames
	for _, pk := range e.found {
		e.addPeak(pk)
	}
}

func (e *bandExtractor) addPeak(pk columnPeak) {
	c, k := pk.frame, pk.bin
	// Parabolic interpolation of the log magnitude around bin k (a bin at
	// the band's edge has itself for its missing neighbour).
	b := float64(pk.mid)
	delta := parabolicPeak(float64(pk.left), b, float64(pk.right))
	// And in time, around column c.
	dtime := 0.0
	if c > 0 {
		dtime = parabolicPeak(float64(pk.prev), b, float64(pk.next))
	}
	binHz := float64(e.p.SampleRateHz) / float64(e.p.WindowSamples)
	hz := (float64(e.kmin+k) + delta) * binHz
	if hz < e.p.MinFreqHz {
		hz = e.p.MinFreqHz
	}
	pitch := 12 * math.Log2(hz/e.baseHz)

	if c >= e.blockStart+e.framesPerS {
		e.flushBlock()
		e.blockStart = c - c%e.framesPerS
	}
	e.block = append(e.block, strongPeak{Peak: Peak{Time: QuantizeTime(float32(float64(c) + dtime + e.shift)), Pitch: QuantizePitch(float32(pitch)), Strength: QuantizeStrength(pk.mid)}})
}

// densityBandSemitones is the width of the bands the peak-density cap is
// shared between: an octave, six bands over 55-3500 Hz. Per octave, the
// bass's strong peaks cannot take the upper bands' share, nor a noise's
// strong local maxima in one band the music's peaks in another.
const densityBandSemitones = 12

// parabolicPeak returns the offset, in [-0.5, 0.5], of the vertex of the
// parabola through (-1, a), (0, b), (1, d).
func parabolicPeak(a, b, d float64) float64 {
	den := a - 2*b + d
	if den >= 0 {
		return 0
	}
	return max(-0.5, min(0.5, 0.5*(a-d)/den))
}

// flushBlock applies the density cap to the current block and appends the
// survivors in time order.
func (e *bandExtractor) flushBlock() {
	if len(e.block) == 0 {
		return
	}
	if bands, perBand := e.bands, e.perBand; len(e.block) > e.blockCap {
		// The cap applies per band of densityBandSemitones, each keeping
		// its share: broadband noise makes strong local maxima where the
		// music is weak, and a global cap let those displace real peaks
		// from the bands where the music is.
		slices.SortFunc(e.block, func(x, y strongPeak) int { return cmp.Compare(y.Strength, x.Strength) })
		count := make([]int, bands)
		kept := e.block[:0]
		for _, sp := range e.block {
			b := min(bands-1, int(sp.Pitch/densityBandSemitones))
			if count[b] < perBand {
				count[b]++
				kept = append(kept, sp)
			}
		}
		e.block = kept
		slices.SortFunc(e.block, func(x, y strongPeak) int {
			return cmp.Or(cmp.Compare(x.Time, y.Time), cmp.Compare(x.Pitch, y.Pitch))
		})
	}
	for _, sp := range e.block {
		e.peaks = append(e.peaks, sp.Peak)
	}
	e.block = e.block[:0]
}

// String describes the extractor's state, for debugging.
func (e *Extractor) String() string {
	if e.bass == nil {
		return fmt.Sprintf("extractor{frames=%d peaks=%d}", e.main.nFrames, len(e.main.peaks))
	}
	return fmt.Sprintf("extractor{frames=%d peaks=%d bass frames=%d peaks=%d}",
		e.main.nFrames, len(e.main.peaks), e.bass.nFrames, len(e.bass.peaks))
}
