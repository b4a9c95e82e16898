package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// ErrNoContent: the audio decoded but holds too little structure to
// fingerprint (silence, a few seconds of near-constant tone).
var ErrNoContent = errors.New("fingerprint: no usable audio content")

// minPeaks is the fewest peaks a print needs to be worth storing or
// querying: about a second of music.
const minPeaks = 16

// AudioPrint is the fingerprint of one piece of audio.
type AudioPrint struct {
	// Peaks in time order.
	Peaks []Peak
	// Frames is the number of STFT frames analysed.
	Frames int
	// Duration of the decoded audio.
	Duration time.Duration
	// Media describes the decoded input.
	Media media.AudioInfo
}

// ExtractOptions tune one extraction without changing the print's
// parameters.
type ExtractOptions struct {
	// MaxDuration stops with media.ErrTooLong past this much audio. Zero
	// means no limit.
	MaxDuration time.Duration
	// Filters is an FFmpeg audio filter chain applied before analysis (see
	// media.AudioOptions.Filters). Used to render degraded queries.
	Filters string
	// MaxPeaksPerSecond overrides AudioParams.MaxPeaksPerSecond for this
	// extraction (0 keeps it). Queries use more peaks than references
	// (QueryOptions): the index does not grow, and more of a degraded
	// query's true peaks survive the cap.
	MaxPeaksPerSecond int
	// Progress is media.AudioOptions.Progress: how far decoding has got.
	Progress func(decoded, declared time.Duration)
}

// QueryPeaksPerSecond is the peak density of queries (see QueryOptions).
// Measured on the public set (48 ten-second excerpts per condition,
// match.Params.TargetsPerZone 2), with 250-3500 Hz prints: 60 peaks a
// second against the references' 40 raised recall with another song
// mixed in at 0 and -5 dB from 0.83 and 0.69 to 0.90 and 0.75, at no cost
// elsewhere; 80 gained nothing more, matched an unrelated query and cost
// 60 % more latency. With the references' 30 over 55-3500 Hz, 60 is
// twice their density; 90 (15 a second per octave, as 60 gave over four
// octaves) measured 0.93 against 0.92 at 0 dB of white noise and 0.86
// against 0.85 with another song at 0 dB (96 ten-second excerpts), one
// query each, for half as many query hashes again.
const QueryPeaksPerSecond = 60

// QueryOptions returns the extraction options for a query.
func QueryOptions() ExtractOptions {
	return ExtractOptions{MaxPeaksPerSecond: QueryPeaksPerSecond}
}

// extractChunkSeconds is how much decoded audio ExtractFile and
// ExtractReader gather before handing it to the Extractor. The decoder
// returns a frame every 23 ms or so (1024 samples at 44.1 kHz), which is
// less than one STFT hop: analysing after each one interleaved the
// decoder's and the extractor's tables and buffers in the caches, each
// evicting the other's. Half a second (about 16 hops) at a time
// fingerprinted 24 public-set files at 0.70-0.75 of decode-only
// throughput against 0.65-0.70 frame by frame (eight alternate runs);
// 0.25 s gained less, 1 and 2 s no more. The peaks do not change (the
// Extractor's output does not depend on how its input is cut). Streams
// (StreamReader) still analyse each frame as it comes, so that peaks are
// not held back.
const extractChunkSeconds = 0.5

// ExtractFile fingerprints the audio of the file at path.
func ExtractFile(ctx context.Context, path string, p AudioParams, o ExtractOptions) (*AudioPrint, error) {
	return extract(ctx, path, p, o, func(opts media.AudioOptions, fn media.SampleFunc) (media.AudioInfo, error) {
		return media.DecodeAudioFile(ctx, path, opts, fn)
	})
}

// ExtractReader fingerprints audio read from r; name is used in errors.
func ExtractReader(ctx context.Context, r io.Reader, name string, p AudioParams, o ExtractOptions) (*AudioPrint, error) {
	return extract(ctx, name, p, o, func(opts media.AudioOptions, fn media.SampleFunc) (media.AudioInfo, error) {
		return media.DecodeAudioReader(ctx, r, name, opts, fn)
	})
}

// ExtractSamples fingerprints mono PCM already at p.SampleRateHz.
func ExtractSamples(samples []float32, p AudioParams) (*AudioPrint, error) {
	e, err := NewExtractor(p)
	if err != nil {
		return nil, err
	}
	e.Write(samples)
	frames := e.Frames()
	return &AudioPrint{
		Peaks:    e.Finish(),
		Frames:   frames,
		Duration: time.Duration(float64(len(samples)) / float64(p.SampleRateHz) * float64(time.Second)),
	}, nil
}

func extract(ctx context.Context, name string, p AudioParams, o ExtractOptions,
	decode func(media.AudioOptions, media.SampleFunc) (media.AudioInfo, error)) (*AudioPrint, error) {
	if o.MaxPeaksPerSecond > 0 {
		p.MaxPeaksPerSecond = o.MaxPeaksPerSecond
	}
	e, err := NewExtractor(p)
	if err != nil {
		return nil, err
	}
	// Decoded frames are handed over in chunks (see extractChunkSeconds).
	chunk := make([]float32, 0, int(extractChunkSeconds*float64(p.SampleRateHz)))
	info, err := decode(media.AudioOptions{SampleRateHz: p.SampleRateHz, Filters: o.Filters, MaxDuration: o.MaxDuration, Progress: o.Progress},
		func(s []float32) error {
			if len(chunk)+len(s) > cap(chunk) && len(chunk) > 0 {
				e.Write(chunk)
				chunk = chunk[:0]
			}
			if len(s) >= cap(chunk) {
				e.Write(s)
				return nil
			}
			chunk = append(chunk, s...)
			return nil
		})
	if err != nil {
		return nil, err
	}
	e.Write(chunk)
	frames := e.Frames()
	ap := &AudioPrint{Peaks: e.Finish(), Frames: frames, Duration: info.Decoded, Media: info}
	if len(ap.Peaks) < minPeaks {
		return ap, fmt.Errorf("fingerprint %q: %w (%d spectral peaks in %v)", name, ErrNoContent, len(ap.Peaks), info.Decoded.Round(time.Millisecond))
	}
	return ap, nil
}

// PeaksFunc receives peaks as a stream is fingerprinted: peaks in time
// order, and the horizon (in frames) before which every peak has now been
// delivered. An error stops the stream.
type PeaksFunc func(peaks []Peak, horizon float32) error

// StreamFile is ExtractFile for consumers that act on peaks as they are
// found (see StreamReader). path may be any URL FFmpeg opens.
func StreamFile(ctx context.Context, path string, p AudioParams, o ExtractOptions, fn PeaksFunc) (*AudioPrint, error) {
	return stream(ctx, path, p, o, fn, func(opts media.AudioOptions, sf media.SampleFunc) (media.AudioInfo, error) {
		return media.DecodeAudioFile(ctx, path, opts, sf)
	})
}

// StreamReader fingerprints audio read from r as it arrives, handing the
// peaks to fn as soon as they are final, so a consumer can match a
// recording before it ends. The returned print has no Peaks (fn had them
// all); its Frames, Duration and Media are set. Memory does not grow with
// the stream's length.
func StreamReader(ctx context.Context, r io.Reader, name string, p AudioParams, o ExtractOptions, fn PeaksFunc) (*AudioPrint, error) {
	return stream(ctx, name, p, o, fn, func(opts media.AudioOptions, sf media.SampleFunc) (media.AudioInfo, error) {
		return media.DecodeAudioReader(ctx, r, name, opts, sf)
	})
}

func stream(ctx context.Context, name string, p AudioParams, o ExtractOptions, fn PeaksFunc,
	decode func(media.AudioOptions, media.SampleFunc) (media.AudioInfo, error)) (*AudioPrint, error) {
	if o.MaxPeaksPerSecond > 0 {
		p.MaxPeaksPerSecond = o.MaxPeaksPerSecond
	}
	e, err := NewExtractor(p)
	if err != nil {
		return nil, err
	}
	var count int
	info, err := decode(media.AudioOptions{SampleRateHz: p.SampleRateHz, Filters: o.Filters, MaxDuration: o.MaxDuration, Progress: o.Progress},
		func(s []float32) error {
			e.Write(s)
			peaks, horizon := e.TakeReady()
			if len(peaks) == 0 && horizon <= 0 {
				return nil
			}
			count += len(peaks)
			return fn(peaks, horizon)
		})
	if err != nil {
		return nil, err
	}
	frames := e.Frames()
	rest := e.Finish()
	count += len(rest)
	if err := fn(rest, float32(frames)); err != nil {
		return nil, err
	}
	ap := &AudioPrint{Frames: frames, Duration: info.Decoded, Media: info}
	if count < minPeaks {
		return ap, fmt.Errorf("fingerprint %q: %w (%d spectral peaks in %v)", name, ErrNoContent, count, info.Decoded.Round(time.Millisecond))
	}
	return ap, nil
}

// IsNoContent reports whether err says the audio held nothing to
// fingerprint (silence): a query that simply matches nothing.
func IsNoContent(err error) bool { return errors.Is(err, ErrNoContent) }
