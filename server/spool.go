package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"
)

// spoolMemoryBytes is how much of an upload is kept in memory before the
// rest goes to a temporary file. Uploads are spooled so that FFmpeg can
// seek (an MP4 whose index is at its end cannot be decoded front to back)
// and so that a slow client does not hold a worker slot.
const spoolMemoryBytes = 8 << 20

// spooled is an upload held for decoding.
type spooled struct {
	name string
	size int64
	r    io.ReadSeeker
	f    *os.File // nil when in memory
}

// spool reads r whole, up to limit bytes (more is an *http.MaxBytesError).
func spool(r io.Reader, name string, limit int64) (*spooled, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, lr, min(spoolMemoryBytes, limit+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if errors.Is(err, io.EOF) || n < spoolMemoryBytes {
		return &spooled{name: name, size: n, r: bytes.NewReader(buf.Bytes())}, nil
	}
	f, err := os.CreateTemp("", "cueprint-upload-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	sp := &spooled{name: name, f: f, r: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		sp.Close()
		return nil, err
	}
	m, err := io.Copy(f, lr)
	if err != nil {
		sp.Close()
		return nil, err
	}
	sp.size = n + m
	if sp.size > limit {
		sp.Close()
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}

// Close releases the spooled data.
func (sp *spooled) Close() {
	if sp.f != nil {
		sp.f.Close()
		sp.f = nil
	}
}

// limitBody caps the request body at MaxUploadBytes and fails it when the
// client sends nothing for BodyStallTimeout.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	r.Body = &stallReader{rc: rc, r: http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes), d: s.cfg.BodyStallTimeout}
}

// stallReader extends the connection's read deadline before each read.
type stallReader struct {
	rc *http.ResponseController
	r  io.ReadCloser
	d  time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	_ = s.rc.SetReadDeadline(time.Now().Add(s.d)) // unsupported on some transports: then no stall limit
	return s.r.Read(p)
}

func (s *stallReader) Close() error { return s.r.Close() }

// uploadErr classifies an error reading the request body, directly or
// through the decoder. Errors that already say what went wrong (API
// errors, media errors, an oversize body) pass through.
func uploadErr(err error) error {
	var e *Error
	var ne interface{ Timeout() bool }
	if _, _, media := decodeReason(err); media || errors.As(err, &e) || errors.Is(err, syscall.ENOSPC) {
		return err
	}
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return apiErr(http.StatusRequestTimeout, "upload_stalled", "upload stalled: no data received in time")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return apiErr(http.StatusBadRequest, codeBadRequest, "reading the upload: %v", err)
}

// admit admits a request that sends media (or errBusy), caps its body
// (limitBody) and returns the context its work runs under: the request's
// (cancelled when the client goes away or the server gives up at
// shutdown), bounded by RequestTimeout. done releases both.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (ctx context.Context, done func(), err error) {
	leave, err := s.limit.enter()
	if err != nil {
		return nil, nil, err
	}
	s.limitBody(w, r)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	return ctx, func() { cancel(); leave() }, nil
}
