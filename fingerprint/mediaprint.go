package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// MediaPrint holds the prints of one media file: its sound, its picture,
// or both. A nil field means the file has no such stream, or one with
// nothing to fingerprint (silence, a black picture, cover art).
type MediaPrint struct {
	Audio *AudioPrint
	Video *VideoPrint
	// Truncated is set when a stream ended well before the duration the
	// container declared.
	Truncated bool
	// DeclaredDuration is what the container announced.
	DeclaredDuration time.Duration
}

// Duration is the longer of the decoded audio and video.
func (m *MediaPrint) Duration() time.Duration {
	var d time.Duration
	if m.Audio != nil {
		d = m.Audio.Duration
	}
	if m.Video != nil {
		d = max(d, m.Video.Duration)
	}
	return d
}

// MediaOptions tune ExtractMedia*.
type MediaOptions struct {
	// Audio are the audio extraction options (QueryOptions() for a query).
	Audio ExtractOptions
	// Video are the video extraction options (Query: true for a query).
	Video VideoOptions
	// NoVideo skips the picture: audio only, as before video existed.
	NoVideo bool
}

// ExtractMediaFile fingerprints the sound and the picture of the file at
// path, one decoding pass each. It fails only when neither gives a print:
// then with the audio's error (ErrNoContent, media.ErrNoAudio, ...), or
// the video's when the file has no audio stream at all.
func ExtractMediaFile(ctx context.Context, path string, ap AudioParams, vp VideoParams, o MediaOptions) (*MediaPrint, error) {
	return extractMedia(ctx, path, ap, vp, o,
		func() (*AudioPrint, error) { return ExtractFile(ctx, path, ap, o.Audio) },
		func() (*VideoPrint, error) { return ExtractVideoFile(ctx, path, vp, o.Video) })
}

// ExtractMediaReader is ExtractMediaFile for a seekable reader (an
// upload held in memory or a temporary file): it is read from its
// current position once per stream.
func ExtractMediaReader(ctx context.Context, r io.ReadSeeker, name string, ap AudioParams, vp VideoParams, o MediaOptions) (*MediaPrint, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("fingerprint %q: %w", name, err)
	}
	rewind := func() error {
		_, err := r.Seek(start, io.SeekStart)
		return err
	}
	return extractMedia(ctx, name, ap, vp, o,
		func() (*AudioPrint, error) { return ExtractReader(ctx, r, name, ap, o.Audio) },
		func() (*VideoPrint, error) {
			if err := rewind(); err != nil {
				return nil, fmt.Errorf("fingerprint %q: rewind: %w", name, err)
			}
			return ExtractVideoReader(ctx, r, name, vp, o.Video)
		})
}

func extractMedia(ctx context.Context, name string, ap AudioParams, vp VideoParams, o MediaOptions,
	audio func() (*AudioPrint, error), video func() (*VideoPrint, error)) (*MediaPrint, error) {
	mp := &MediaPrint{}
	a, aerr := audio()
	switch {
	case aerr == nil:
		mp.Audio = a
	case IsNoContent(aerr) || errors.Is(aerr, media.ErrNoAudio) || errors.Is(aerr, media.ErrEmpty):
		// No sound to print; the picture may still have something.
	default:
		return nil, aerr // not media, not found, cancelled, ...
	}
	if a != nil {
		mp.Truncated = a.Media.Truncated
		mp.DeclaredDuration = a.Media.DeclaredDuration
	}
	if o.NoVideo {
		if mp.Audio == nil {
			return emptyPrint(mp, a), aerr
		}
		return mp, nil
	}
	v, verr := video()
	switch {
	case verr == nil:
		mp.Video = v
		mp.Truncated = mp.Truncated || v.Media.Truncated
		if mp.DeclaredDuration == 0 {
			mp.DeclaredDuration = v.Media.DeclaredDuration
		}
	case errors.Is(verr, ErrNoVideoContent) || errors.Is(verr, media.ErrNoVideo) || errors.Is(verr, media.ErrNoFrames):
	case ctx.Err() != nil:
		return nil, verr
	case mp.Audio != nil:
		// The sound printed; a picture FFmpeg cannot decode does not undo
		// that (the error is the caller's to see only when nothing printed).
	default:
		return nil, verr
	}
	if mp.Audio == nil && mp.Video == nil {
		if errors.Is(aerr, media.ErrNoAudio) && verr != nil {
			return emptyPrint(mp, a), verr
		}
		return emptyPrint(mp, a), aerr
	}
	return mp, nil
}

// emptyPrint keeps what was decoded of a print that failed for lack of
// content (its duration), so a query can report it.
func emptyPrint(mp *MediaPrint, a *AudioPrint) *MediaPrint {
	if a != nil {
		mp.Audio = a
	}
	return mp
}

// IsNoMediaContent reports whether err says a file decoded but held
// nothing to fingerprint in any stream (silence and black, say): a valid
// query that matches nothing.
func IsNoMediaContent(err error) bool {
	return IsNoContent(err) || errors.Is(err, ErrNoVideoContent)
}
