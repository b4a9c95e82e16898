package media

import (
	"errors"
	"strconv"
	"syscall"

	"github.com/asticode/go-astiav"
)

// Sentinel errors, matched with errors.Is. Every error returned by this
// package is a *DecodeError wrapping one of these, a context error, or an
// FFmpeg error.
var (
	// ErrNotFound: the input file does not exist.
	ErrNotFound = errors.New("media: no such file")
	// ErrUnsupportedMedia: no FFmpeg demuxer recognises the input (empty
	// file, random bytes, a document), or its header is unreadable.
	ErrUnsupportedMedia = errors.New("media: not a readable media file")
	// ErrNoAudio: the input is media but has no audio stream.
	ErrNoAudio = errors.New("media: no audio stream")
	// ErrNoVideo: the input is media but has no video stream.
	ErrNoVideo = errors.New("media: no video stream")
	// ErrUndecodable: an audio or video stream exists but FFmpeg cannot
	// decode it (no decoder, broken codec headers, mostly corrupt packets).
	ErrUndecodable = errors.New("media: stream cannot be decoded")
	// ErrEmpty: the audio stream decoded to zero samples.
	ErrEmpty = errors.New("media: audio stream has no samples")
	// ErrNoFrames: the video stream decoded to no picture.
	ErrNoFrames = errors.New("media: video stream has no frames")
	// ErrTooLong: the media is longer than the options' MaxDuration.
	ErrTooLong = errors.New("media: media longer than allowed")
)

// errEinval and errEnoent are the FFmpeg forms of EINVAL and ENOENT, which
// go-astiav v0.16 does not name.
var (
	errEinval = astiav.Error(-int(syscall.EINVAL))
	errEnoent = astiav.Error(-int(syscall.ENOENT))
)

// DecodeError records a failed decode: what was being done, to which input.
type DecodeError struct {
	Op   string // "open", "probe", "select stream", "decode", ...
	Path string // the file path or the caller's name for a reader
	Err  error
}

func (e *DecodeError) Error() string {
	return "decode " + strconv.Quote(e.Path) + ": " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }
