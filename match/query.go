package match

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
)

// The query pipeline: decode, print and match, for a whole file (Query)
// or for a stream matched as it arrives (QueryStream). The command line,
// the HTTP handlers and the stream endpoint all run their queries through
// it, so a query is printed and matched the same way wherever it comes
// from.

// QueryOptions configure a query.
type QueryOptions struct {
	// MaxDuration caps the media decoded (media.ErrTooLong past it); 0 is
	// no cap.
	MaxDuration time.Duration
	// Work runs a CPU-heavy step (printing a file, matching a print or a
	// stream's window) and returns its error; the daemon passes its
	// worker pool. Nil runs the step at once.
	Work func(ctx context.Context, step func() error) error
	// Pace, for a stream, is called with the media time decoded so far
	// (seconds) before it is matched, and may block to hold the stream to
	// a pace; an error stops the stream. Nil does not pace.
	Pace func(ctx context.Context, mediaS float64) error
	// Progress is called as the sound is decoded (see
	// media.AudioOptions.Progress); nil: not.
	Progress func(decoded, declared time.Duration)
	// Live, for a stream, is called after each step of the sound's
	// stream matcher with where the stream is (a monitor's view of it);
	// nil: not.
	Live func(LiveProgress)
}

// LiveProgress is where a stream's sound is: what a monitor watches.
type LiveProgress struct {
	// HorizonS is the sound decoded and printed so far, seconds.
	HorizonS float64
	// Peaks counts the peaks printed since the last call: none for a
	// while is silence.
	Peaks int
	// Pending are the segments found so far that later windows may
	// still extend (Stream.Pending): a work heard before it ends.
	Pending []Segment
}

func (o QueryOptions) work(ctx context.Context, step func() error) error {
	if o.Work == nil {
		return step()
	}
	return o.Work(ctx, step)
}

// mediaOptions are the print options of a query: the queries' peak
// density, the picture's query regions.
func (o QueryOptions) mediaOptions() fingerprint.MediaOptions {
	a := fingerprint.QueryOptions()
	a.MaxDuration, a.Progress = o.MaxDuration, o.Progress
	return fingerprint.MediaOptions{Audio: a, Video: fingerprint.VideoOptions{MaxDuration: o.MaxDuration, Query: true}}
}

// Query prints the media read from r (seekable: the sound and the
// picture are decoded in two passes) and matches it. Media with nothing
// to print (silence, a black picture) is a query that matches nothing,
// not an error. The print is returned with the segments.
func (m *Matcher) Query(ctx context.Context, r io.ReadSeeker, name string, o QueryOptions) (*fingerprint.MediaPrint, []Segment, error) {
	var mp *fingerprint.MediaPrint
	err := o.work(ctx, func() (err error) {
		mp, err = fingerprint.ExtractMediaReader(ctx, r, name, m.fp, m.store.VideoParams(), o.mediaOptions())
		return err
	})
	return m.matchPrint(ctx, mp, err, o)
}

// QueryFile is Query for a file (or any URL FFmpeg opens).
func (m *Matcher) QueryFile(ctx context.Context, path string, o QueryOptions) (*fingerprint.MediaPrint, []Segment, error) {
	var mp *fingerprint.MediaPrint
	err := o.work(ctx, func() (err error) {
		mp, err = fingerprint.ExtractMediaFile(ctx, path, m.fp, m.store.VideoParams(), o.mediaOptions())
		return err
	})
	return m.matchPrint(ctx, mp, err, o)
}

// matchPrint matches a query's print, given the error printing it gave.
func (m *Matcher) matchPrint(ctx context.Context, mp *fingerprint.MediaPrint, err error, o QueryOptions) (*fingerprint.MediaPrint, []Segment, error) {
	switch {
	case fingerprint.IsNoMediaContent(err):
		if mp == nil {
			mp = &fingerprint.MediaPrint{}
		}
		return mp, nil, nil
	case err != nil:
		return mp, nil, err
	}
	var segs []Segment
	err = o.work(ctx, func() (err error) {
		segs, err = m.MatchMedia(ctx, mp)
		return err
	})
	if err != nil {
		return mp, nil, err
	}
	return mp, segs, nil
}

// StreamResult is what a streamed query decoded.
type StreamResult struct {
	// Duration is the media decoded, the longer of the sound and the
	// picture.
	Duration time.Duration
	// AudioDuration is the sound decoded (0 without sound).
	AudioDuration time.Duration
	// Segments counts the segments emitted.
	Segments int
}

// QueryStream matches media read from r as it arrives (any streamable
// container), calling emit with each segment as soon as it is final. The
// sound is decoded from r itself and the picture from a copy of it (a
// pipe) in a second goroutine: two demuxers over one byte stream, each
// with its own decoder, so neither waits for the other beyond the pipe. A
// StreamFuser joins what they find. emit is called from one goroutine at
// a time. Media with nothing to print matches nothing, not an error; the
// error returned otherwise follows ExtractMedia's rules for a file (the
// sound's error unless it only lacked sound, the picture's when there was
// no audio stream at all).
func (m *Matcher) QueryStream(ctx context.Context, r io.Reader, o QueryOptions, emit func(Segment) error) (StreamResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res StreamResult
	var mu sync.Mutex // guards fuser, res.Segments and emit
	var fuser StreamFuser
	send := func(segs []Segment) error {
		for _, seg := range segs {
			if err := emit(seg); err != nil {
				return err
			}
			res.Segments++
		}
		return nil
	}
	// feed runs one step of a modality's stream matcher (as Work when it
	// searches: the CPU-heavy part) and sends what the fuser releases of
	// its segments.
	feed := func(search bool, step func() ([]Segment, error), fuse func([]Segment) []Segment) error {
		var segs []Segment
		run := func() (err error) {
			segs, err = step()
			return err
		}
		var err error
		if search {
			err = o.work(ctx, run)
		} else {
			err = run()
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		return send(fuse(segs))
	}
	// done tells the fuser a modality has ended, so the other's segments
	// need not wait for it.
	done := func(fuse func() []Segment) error {
		mu.Lock()
		defer mu.Unlock()
		return send(fuse())
	}
	pace := func(mediaS float64) error {
		if o.Pace == nil {
			return nil
		}
		return o.Pace(ctx, mediaS)
	}
	pr, pw := io.Pipe()
	type videoResult struct {
		print *fingerprint.VideoPrint
		err   error
	}
	videoDone := make(chan videoResult, 1)
	vfps := float64(m.store.VideoParams().FPS)
	go func() {
		vst := m.NewVideoStream()
		fuse := func(segs []Segment) []Segment { return fuser.Video(segs, vst.Final(), vst.OpenFrom()) }
		vp, err := fingerprint.StreamVideoReader(ctx, pr, "stream", m.store.VideoParams(),
			fingerprint.VideoOptions{MaxDuration: o.MaxDuration},
			func(frames []fingerprint.VideoFrameHashes, horizon uint32) error {
				if err := pace(float64(horizon) / vfps); err != nil {
					return err
				}
				return feed(vst.Due(horizon), func() ([]Segment, error) { return vst.Add(ctx, frames, horizon) }, fuse)
			})
		if err == nil || fingerprint.IsNoMediaContent(err) {
			if cerr := feed(true, func() ([]Segment, error) { return vst.Close(ctx) }, fuse); cerr != nil {
				err = cerr
			}
		}
		if derr := done(fuser.VideoDone); derr != nil && err == nil {
			err = derr
		}
		// Whatever happened, keep reading: the sound's decoder writes
		// into the pipe and must never wait on a picture that stopped.
		_, _ = io.Copy(io.Discard, pr)
		videoDone <- videoResult{vp, err}
	}()

	st := m.NewStream()
	fuse := func(segs []Segment) []Segment { return fuser.Audio(segs, st.Final(), st.OpenFrom()) }
	frameS := m.fp.FrameDuration()
	ap, aerr := fingerprint.StreamReader(ctx, io.TeeReader(r, pw), "stream", m.fp,
		fingerprint.ExtractOptions{MaxDuration: o.MaxDuration, MaxPeaksPerSecond: fingerprint.QueryPeaksPerSecond},
		func(peaks []fingerprint.Peak, horizon float32) error {
			if err := pace(float64(horizon) * frameS); err != nil {
				return err
			}
			due := st.Due(horizon)
			if err := feed(due, func() ([]Segment, error) { return st.Add(ctx, peaks, horizon) }, fuse); err != nil {
				return err
			}
			if o.Live == nil {
				return nil
			}
			lp := LiveProgress{HorizonS: float64(horizon) * frameS, Peaks: len(peaks)}
			if due {
				var err error
				if lp.Pending, err = st.Pending(); err != nil {
					return err
				}
			}
			o.Live(lp)
			return nil
		})
	if aerr == nil || fingerprint.IsNoContent(aerr) {
		frames := 0
		if ap != nil {
			frames = ap.Frames
		}
		if cerr := feed(true, func() ([]Segment, error) { return st.Close(ctx, frames) }, fuse); cerr != nil {
			aerr = cerr
		}
	}
	if derr := done(fuser.AudioDone); derr != nil && !audioFailed(aerr) {
		aerr = derr
	}
	if audioFailed(aerr) {
		// Not media, too long, cancelled: the query ends here, picture
		// and all, and the rest of the input is not read.
		cancel()
		pw.CloseWithError(aerr)
	} else {
		// The rest of the input goes to the picture (the sound may have
		// stopped early: no audio stream).
		_, cerr := io.Copy(pw, r)
		pw.CloseWithError(cerr) // nil: EOF
	}
	vr := <-videoDone
	if ap != nil {
		res.AudioDuration = ap.Duration
		res.Duration = ap.Duration
	}
	if vr.print != nil {
		res.Duration = max(res.Duration, vr.print.Duration)
	}
	err := streamError(ctx, aerr, vr.err)
	if fingerprint.IsNoMediaContent(err) {
		err = nil
	}
	return res, err
}

// audioFailed reports whether the sound of a streamed query failed in a
// way that ends the query (not media, too long, cancelled), as opposed to
// having no sound to match.
func audioFailed(err error) bool {
	return err != nil && !fingerprint.IsNoContent(err) && !errors.Is(err, media.ErrNoAudio) && !errors.Is(err, media.ErrEmpty)
}

// streamError decides a streamed query's outcome from its sound's and its
// picture's, by the rules ExtractMedia applies to a file: the sound's
// error unless it only lacked sound; nothing when either printed; the
// picture's error when there was no audio stream at all.
func streamError(ctx context.Context, aerr, verr error) error {
	switch {
	case audioFailed(aerr):
		return aerr
	case aerr == nil || verr == nil:
		return nil
	case ctx.Err() != nil:
		return verr
	case errors.Is(aerr, media.ErrNoAudio):
		return verr
	}
	return aerr
}
