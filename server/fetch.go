package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/hls"
)

// fetch downloads an http(s) URL into a spool. Three kinds of body:
//
//   - an HLS playlist (hls.IsPlaylist): the daemon fetches its segments
//     itself (a master playlist's best variant first) and spools them as
//     one body; a live playlist is polled until take of media is read;
//   - a body of unknown length (no Content-Length: a live radio stream,
//     say) is read for take of wall time, at most;
//   - any other body is read to its end.
//
// take 0 means api.DefaultCaptureS for live streams and no bound for
// media that ends. Every body counts against MaxUploadBytes.
func (s *Server) fetch(ctx context.Context, u *url.URL, take time.Duration) (*spooled, error) {
	f := fetcher{maxBytes: s.conf().MaxUploadBytes, maxDuration: s.conf().MaxMediaDuration, budget: &s.spoolMem}
	return f.fetch(ctx, u, take)
}

// fetcher fetches media within a byte cap; maxDuration bounds what is read
// of a playlist that ends (the decoder bounds the rest).
type fetcher struct {
	maxBytes    int64
	maxDuration time.Duration
	budget      *memBudget // nil: none
}

// FetchedMedia is media fetched by Fetch, ready to decode.
type FetchedMedia struct {
	// Name is the URL's last path element (a playlist's ends in .ts).
	Name string
	// R reads the media from its start; Close releases it.
	R io.ReadSeeker
	// Captured is set when a stream was read for a while, not to its end.
	Captured bool
	sp       *spooled
}

// Close releases the media's memory or temporary file.
func (m *FetchedMedia) Close() { m.sp.Close() }

// Fetch fetches an http(s) URL as /v1/match/url does: an HLS playlist's
// segments, a live stream for take (0: api.DefaultCaptureS), anything else
// whole; at most maxBytes (more is an *Error upload_too_large), and at
// most maxDuration of a playlist's segments. The command line's scans use
// it, so they read URLs exactly as the daemon does.
func Fetch(ctx context.Context, rawURL string, maxBytes int64, maxDuration, take time.Duration) (*FetchedMedia, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "%q is not an http(s) URL", rawURL)
	}
	f := fetcher{maxBytes: maxBytes, maxDuration: maxDuration}
	sp, err := f.fetch(ctx, u, take)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apiErr(http.StatusRequestEntityTooLarge, codeUploadTooLarge, "media at %s is larger than the limit of %d bytes", u.Redacted(), maxBytes)
		}
		return nil, err
	}
	return &FetchedMedia{Name: sp.name, R: sp.r, Captured: sp.captured, sp: sp}, nil
}

func (f fetcher) fetch(ctx context.Context, u *url.URL, take time.Duration) (*spooled, error) {
	resp, err := get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > f.maxBytes {
		return nil, &http.MaxBytesError{Limit: f.maxBytes}
	}
	br := bufio.NewReaderSize(resp.Body, 4096)
	peek, _ := br.Peek(16)
	name := path.Base(u.Path)
	var (
		body     io.Reader = br
		captured func() bool
	)
	switch {
	case hls.IsPlaylist(resp.Header.Get("Content-Type"), peek):
		hb, err := f.openPlaylist(ctx, u, br, take)
		if err != nil {
			return nil, err
		}
		defer hb.Close()
		body, captured = hb, hb.captured
		name = strings.TrimSuffix(name, path.Ext(name)) + ".ts"
	case resp.ContentLength < 0:
		if take == 0 {
			take = api.DefaultCaptureS * time.Second
		}
		cb := newCaptureBody(br, resp.Body, take)
		defer cb.stop()
		body, captured = cb, cb.cut.Load
	}
	sp, err := spool(body, name, f.maxBytes, f.budget)
	if err != nil {
		var mbe *http.MaxBytesError
		var ae *Error
		if errors.As(err, &mbe) || errors.As(err, &ae) || ctx.Err() != nil {
			return nil, errors.Join(err, ctx.Err())
		}
		return nil, apiErr(http.StatusUnprocessableEntity, codeFetchFailed, "fetch %s: %v", u.Redacted(), err)
	}
	sp.captured = captured != nil && captured()
	return sp, nil
}

// get sends a GET and returns a 200 response.
func get(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, codeBadRequest, "url %q: %v", u.Redacted(), err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, apiErr(http.StatusUnprocessableEntity, codeFetchFailed, "fetch %s: %v", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, apiErr(http.StatusUnprocessableEntity, codeFetchFailed, "fetch %s: HTTP %s", u.Redacted(), resp.Status)
	}
	return resp, nil
}

// captureBody reads a body of unknown length until it ends or take has
// passed; then it ends as if the stream had (cut is set).
type captureBody struct {
	r     io.Reader
	timer *time.Timer
	cut   atomic.Bool
}

func newCaptureBody(r io.Reader, body io.Closer, take time.Duration) *captureBody {
	c := &captureBody{r: r}
	c.timer = time.AfterFunc(take, func() {
		c.cut.Store(true)
		body.Close() // unblocks a Read waiting for the stream
	})
	return c
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && c.cut.Load() {
		return n, io.EOF
	}
	return n, err
}

func (c *captureBody) stop() { c.timer.Stop() }

// playlistBody is an HLS media playlist's media as one body: the
// initialisation section, then each segment in order, fetched as it is
// read. A live playlist is fetched again every half target duration for
// new segments until take of media has been opened.
type playlistBody struct {
	ctx  context.Context
	base *url.URL // the media playlist's URL, segments are resolved on it
	pl   *hls.Playlist
	next int   // next segment of pl to open
	seen int64 // highest sequence number opened (-1: none)
	// take is the media to read; readS what the opened segments hold.
	take  time.Duration
	readS float64
	cur   io.ReadCloser
	cut   bool // stopped at take with segments to come
	// stall counts fetches of a live playlist that brought nothing new.
	stall int
}

// maxPlaylistStalls is how many times a live playlist may be fetched
// again with no new segment before the stream is taken to have ended.
const maxPlaylistStalls = 6

// openPlaylist reads the playlist in body (fetched from u); a master
// playlist is followed to its best variant.
func (f fetcher) openPlaylist(ctx context.Context, u *url.URL, body io.Reader, take time.Duration) (*playlistBody, error) {
	pl, err := hls.Parse(body)
	if err != nil {
		return nil, playlistErr(u, err)
	}
	if v, ok := pl.Best(); ok {
		vu, err := u.Parse(v.URI)
		if err != nil {
			return nil, apiErr(http.StatusUnprocessableEntity, codeFetchFailed, "playlist %s: variant %q: %v", u.Redacted(), v.URI, err)
		}
		if pl, err = fetchPlaylist(ctx, vu); err != nil {
			return nil, err
		}
		if len(pl.Variants) > 0 {
			return nil, apiErr(http.StatusUnprocessableEntity, codeUnsupported, "playlist %s: a variant that is itself a master playlist", vu.Redacted())
		}
		u = vu
	}
	if take == 0 && !pl.Ended {
		take = api.DefaultCaptureS * time.Second
	}
	if take == 0 {
		take = f.maxDuration
	}
	return &playlistBody{ctx: ctx, base: u, pl: pl, seen: -1, take: take}, nil
}

func fetchPlaylist(ctx context.Context, u *url.URL) (*hls.Playlist, error) {
	resp, err := get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	pl, err := hls.Parse(resp.Body)
	if err != nil {
		return nil, playlistErr(u, err)
	}
	return pl, nil
}

func playlistErr(u *url.URL, err error) error {
	if errors.Is(err, hls.ErrUnsupported) {
		return apiErr(http.StatusUnprocessableEntity, codeUnsupported, "playlist %s: %v", u.Redacted(), err)
	}
	return apiErr(http.StatusUnprocessableEntity, codeUndecodable, "playlist %s: %v", u.Redacted(), err)
}

func (b *playlistBody) Read(p []byte) (int, error) {
	for {
		if b.cur != nil {
			n, err := b.cur.Read(p)
			if errors.Is(err, io.EOF) {
				b.cur.Close()
				b.cur = nil
				err = nil
				if n == 0 {
					continue
				}
			}
			return n, err
		}
		if err := b.openNext(); err != nil {
			return 0, err
		}
	}
}

// openNext opens the next segment (the initialisation section first),
// polling a live playlist for one; io.EOF when the media is read.
func (b *playlistBody) openNext() error {
	if b.pl.Map != nil {
		m := *b.pl.Map
		b.pl.Map = nil
		return b.open(m.URI)
	}
	for b.next >= len(b.pl.Segments) {
		if b.pl.Ended || b.stall >= maxPlaylistStalls {
			return io.EOF
		}
		if err := b.poll(); err != nil {
			return err
		}
	}
	if b.readS >= b.take.Seconds() {
		b.cut = true
		return io.EOF
	}
	seg := b.pl.Segments[b.next]
	b.next++
	b.seen, b.readS = seg.Seq, b.readS+seg.DurationS
	return b.open(seg.URI)
}

// poll waits half a target duration and fetches the live playlist again,
// keeping the segments not opened yet.
func (b *playlistBody) poll() error {
	wait := time.Duration(max(b.pl.TargetDurationS, 1) * float64(time.Second) / 2)
	select {
	case <-b.ctx.Done():
		return b.ctx.Err()
	case <-time.After(wait):
	}
	pl, err := fetchPlaylist(b.ctx, b.base)
	if err != nil {
		return err
	}
	var fresh []hls.Segment
	for _, seg := range pl.Segments {
		if seg.Seq > b.seen {
			fresh = append(fresh, seg)
		}
	}
	if len(fresh) == 0 && !pl.Ended {
		b.stall++
	} else {
		b.stall = 0
	}
	pl.Map = nil // the initialisation section was read once
	pl.Segments, b.pl, b.next = fresh, pl, 0
	return nil
}

func (b *playlistBody) open(ref string) error {
	u, err := b.base.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "playlist %s: segment %.80q is not an http(s) URL", b.base.Redacted(), ref)
	}
	resp, err := get(b.ctx, u)
	if err != nil {
		return err
	}
	b.cur = resp.Body
	return nil
}

// captured reports whether the playlist was read for take, not to its end.
func (b *playlistBody) captured() bool { return b.cut || (!b.pl.Ended && b.stall < maxPlaylistStalls) }

// Close closes the segment being read.
func (b *playlistBody) Close() error {
	if b.cur != nil {
		return b.cur.Close()
	}
	return nil
}

// liveForever is the capture of a monitor's HLS playlist: no end.
const liveForever = 100 * 365 * 24 * time.Hour

// OpenLive opens an http(s) stream for a monitor: an HLS playlist's
// media as one body, followed as a live playlist grows (it ends when the
// playlist does, or stops growing); anything else, the response body as
// it comes. Nothing is spooled or capped: a monitor listens for days.
func OpenLive(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	resp, err := get(ctx, u)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(resp.Body, 4096)
	peek, _ := br.Peek(16)
	if hls.IsPlaylist(resp.Header.Get("Content-Type"), peek) {
		defer resp.Body.Close()
		return fetcher{}.openPlaylist(ctx, u, br, liveForever)
	}
	return readCloser{br, resp.Body}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
