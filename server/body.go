package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errUploadTooSlow: a request body arrived slower than Config.MinUploadRate
// over a whole Config.BodyStallTimeout.
var errUploadTooSlow = errors.New("upload too slow")

// bodyReader reads a request body within its limits: at most limit bytes
// (0: no limit), and at least minBytes in every window (the connection's
// read deadline is the end of the current window; a window that receives
// minBytes starts the next one). A client trickling a byte every few
// seconds so never holds a connection past one window. err keeps the
// first limit it hit, for callers whose decoder turns a read error into
// an end of stream (FFmpeg does).
type bodyReader struct {
	rc       *http.ResponseController
	r        io.ReadCloser
	limit    int64
	n        int64
	window   time.Duration
	minBytes int64
	winEnd   time.Time
	winBytes int64
	err      error
}

// limitBody caps the request body at limit bytes (0: none) and enforces
// Config.MinUploadRate over windows of Config.BodyStallTimeout. It
// returns the reader, also installed as r.Body.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request, limit int64) *bodyReader {
	br := &bodyReader{rc: http.NewResponseController(w), r: r.Body, limit: limit, window: s.conf().BodyStallTimeout,
		minBytes: max(1, int64(float64(s.conf().MinUploadRate)*s.conf().BodyStallTimeout.Seconds()))}
	if limit > 0 {
		br.r = http.MaxBytesReader(w, r.Body, limit)
	}
	r.Body = br
	return br
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	now := time.Now()
	if b.winEnd.IsZero() {
		b.winEnd = now.Add(b.window)
	}
	_ = b.rc.SetReadDeadline(b.winEnd) // unsupported on some transports: then no rate limit
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.winBytes += int64(n)
	if b.winBytes >= b.minBytes {
		b.winEnd, b.winBytes = time.Now().Add(b.window), 0
	}
	var mbe *http.MaxBytesError
	var ne interface{ Timeout() bool }
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &mbe):
		b.err = err
	case errors.As(err, &ne) && ne.Timeout():
		b.err = fmt.Errorf("%w: fewer than %d bytes in %v (at least %d bytes a second wanted)",
			errUploadTooSlow, b.minBytes, b.window, max(1, b.minBytes/max(1, int64(b.window.Seconds()))))
		err = b.err
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.r.Close() }

// limitErr returns the limit the body hit (oversize, too slow), if any.
func (b *bodyReader) limitErr() error { return b.err }

// receive takes a receiving slot for caller c's request body (see
// limiter.receive), failing with errBusy at once when none is free.
func (s *Server) receive(c *call) (release func(), err error) {
	return s.limit.receive(c.key.ID)
}

// admit admits a request whose body has been received (or that has none)
// and returns the context its work runs under: the request's (cancelled
// when the client goes away or the server gives up at shutdown), bounded
// by RequestTimeout and carrying the admission ticket. done releases both.
func (s *Server) admit(r *http.Request) (ctx context.Context, done func(), err error) {
	leave, err := s.limit.enter()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(withTicket(r.Context()), s.conf().RequestTimeout)
	return ctx, func() { cancel(); leave() }, nil
}
