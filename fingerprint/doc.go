// Package fingerprint turns decoded media into perceptual prints: audio
// landmarks (spectral peaks paired into hashes that carry a time) and video
// frame hashes (video.go). Decoding lives in the media subpackage, the FFT
// in spectrum; this package owns the prints and their parameters. Each
// parameter's field in AudioParams says what it is, its default and why;
// the measurements behind them are in docs/design/tuning.md.
//
// # Audio: from samples to landmarks
//
//  1. Decode and resample (media): any input FFmpeg reads is decoded,
//     down-mixed to mono, then resampled, by libswresample, to
//     AudioParams.SampleRateHz, 8000 Hz by default. 0-4 kHz holds music's
//     most robust peaks and survives phone chains and low bit-rate codecs;
//     every later cost scales with the rate. Input is streamed: memory is
//     bounded by the analysis window, whatever the length.
//  2. Spectrum (spectrum), at two resolutions on one time grid: above
//     BassSplitHz (220 Hz), a Hann-windowed STFT of 1024 samples (128 ms,
//     7.8 Hz a bin) every 256 samples (32 ms, a frame), log magnitude of
//     the bins up to 3500 Hz only; below it, down to 55 Hz, the audio
//     decimated by 8 (spectrum.Decimator, a 96-tap FIR) and a window of
//     512 samples at 1 kHz (512 ms, 1.95 Hz a bin) every 32 (the same
//     32 ms). A semitone is two bins or more everywhere in the bass, where
//     the short window's bins spanned up to 2.5 semitones; the long
//     window's frames are placed on the short one's grid by their
//     centres' offset (6.2 frames), so a bass peak and a treble peak of
//     one onset carry one time.
//  3. Whitening (each resolution alone): each column minus its moving
//     average over 4*PeakBins+1 bins, so that a peak is judged by its
//     prominence over the local envelope, not its level: gain, EQ and
//     spectral tilt change nothing.
//  4. Peak picking (Extractor): a bin is a peak when it is the maximum of
//     the box of ±PeakBins bins (70 Hz above the split, 17.6 Hz below)
//     and ±PeakFrames frames (128 ms) around it and rises MinProminence
//     (about 4 dB) over the envelope. Steps 3 and 4 run in C, one call a
//     column (column.go), exactly as the Go that made every stored print.
//     Time and frequency are refined by parabolic interpolation; pitch is
//     kept in semitones above MinFreqHz (log-frequency: a pitch shift moves
//     every peak by the same amount). In each second, only the
//     MaxPeaksPerSecond strongest peaks are kept (24 for references, 60 for
//     queries, see QueryPeaksPerSecond), shared equally between octaves,
//     so that a loud bass line or a band of noise cannot take the others'
//     share.
//  5. Pairing (AudioParams.Pairs): each anchor peak is paired with later
//     peaks 2 to 48 frames (64 ms to 1.5 s) later and within an octave; the
//     zone is cut into FanOut (6) sub-zones of equal duration and the
//     strongest peak of each is the target. Strong targets are those noise
//     displaces least; one per sub-zone spreads the pairs' time
//     differences, which is the hash's entropy.
//  6. Hashing (hash.go): anchor pitch, pitch difference and time
//     difference, 21 bits, with the anchor's time beside it (a Landmark).
//     The bit layout and its history are documented with the constants.
//     A query is hashed under Variants (speed, tempo-only and pitch-only
//     hypotheses) by re-reading its peaks, with the neighbouring
//     quantisation level looked up for values near a boundary: the index
//     holds one hash per pair, queries pay for robustness.
//  7. Triplets (triplet.go): each anchor with the two strongest peaks of
//     its target zone, hashed from quantities a change of speed, tempo or
//     pitch leaves unchanged (the targets' pitch differences from the
//     anchor in semitones, and where the first target falls between the
//     anchor and the second), about 22 bits with the span's coarse length.
//     A query looks them up once, whatever its speed or pitch; the change
//     itself is recovered from the matched triplets' spans and anchor
//     pitches when a candidate is aligned.
//
// A reference's peaks (about 3 bytes each, AppendPeaks) are stored as its
// forward print; its landmarks are recomputed from them. Prints made with
// other AudioParams do not compare: AudioParams.Hash names the parameters,
// and the index refuses a store made with others.
//
// # Why this design
//
// Peak pairs are the landmark fingerprint of Wang (2003), the family of
// Shazam, audfprint, Dejavu, Olaf and Panako: a pair survives any
// degradation that keeps its two peaks, and the time offset between query
// and reference, shared by all the true pairs, is what the matcher votes
// on. The choices above are the public set's measurements: the band
// reaches down to 55 Hz because the bass of most music stands above
// broadband noise that buries its upper bands (MinFreqHz); the per-octave
// cap keeps noise from displacing music's peaks; more query peaks than
// reference peaks keep a degraded query's true peaks without growing the
// index; the long bass window gives the bass octaves peaks as many and as
// precise as the others' (with one 1024-sample window a reference's bass
// held too few, and under 0 dB of white noise a bass-heavy electronic
// track kept a third of its lowest octave's peaks and a tenth of the
// others', too few to align; docs/design/tuning.md has what was
// measured). Where this still fails: two
// songs mixed at equal loudness or louder (the other song's peaks take
// most of each octave's share), and 3 s queries under heavy noise; speed
// and pitch changes beyond the variants' grid rest on the triplets, of
// which fewer survive a time stretch or a transposition than pairs do.
package fingerprint
