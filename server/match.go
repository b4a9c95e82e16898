package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// segmentJSON is the API form of a segment, as c may see it: owners and
// shares are for attribution (matchers) and for the work's own tenant;
// another rights holder learns only what identifies the work.
func (s *Server) segmentJSON(seg match.Segment, c *call) api.Segment {
	return api.NewSegment(seg, c.key.Role == "matcher" || c.owns(seg.Work.Tenant))
}

// queryOptions are the options of a query the daemon runs: uploads' and
// URLs' media cap, the worker pool, and the fingerprinting metrics.
func (s *Server) queryOptions() match.QueryOptions {
	return match.QueryOptions{MaxDuration: s.conf().MaxMediaDuration, Work: s.limit.do}
}

// postMatch matches an upload: the request body itself, or the "media"
// part of a multipart form. The body is received and spooled before the
// request is admitted (see Load in the package doc).
func (s *Server) postMatch(w http.ResponseWriter, r *http.Request, c *call) error {
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	s.limitBody(w, r, s.conf().MaxUploadBytes)
	sp, err := s.spoolQuery(r)
	release()
	if err != nil {
		s.metrics.matchOutcomes.WithLabelValues(outcomeError).Inc()
		return err
	}
	defer sp.Close()
	ctx, done, err := s.admit(r)
	if err != nil {
		return err
	}
	defer done()
	return s.matchSpooled(ctx, w, c, sp, sp.name)
}

// spoolQuery spools the media of a match request.
func (s *Server) spoolQuery(r *http.Request) (*spooled, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		sp, err := spool(r.Body, "", s.conf().MaxUploadBytes, &s.spoolMem)
		if err != nil {
			return nil, uploadErr(err)
		}
		return sp, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, codeBadRequest, "multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, apiErr(http.StatusBadRequest, codeBadRequest, "no media part")
		}
		if err != nil {
			return nil, uploadErr(err)
		}
		if part.FormName() != "media" {
			part.Close()
			continue
		}
		sp, err := spool(part, part.FileName(), s.conf().MaxUploadBytes, &s.spoolMem)
		if err != nil {
			return nil, uploadErr(err)
		}
		return sp, nil
	}
}

// matchSpooled fingerprints and matches spooled media and writes the
// answer.
func (s *Server) matchSpooled(ctx context.Context, w http.ResponseWriter, c *call, sp *spooled, path string) error {
	name := sp.name
	if name == "" {
		name = "upload"
	}
	start := time.Now()
	mp, segs, err := s.matcher.Query(ctx, sp.r, name, s.queryOptions())
	s.metrics.extractSeconds.Add(time.Since(start).Seconds())
	if mp != nil {
		s.metrics.audioSeconds.Add(mp.Duration().Seconds())
	}
	if err != nil {
		if reason, _, ok := decodeReason(err); ok {
			s.metrics.decodeErrors.WithLabelValues(reason).Inc()
		}
		s.metrics.matchOutcomes.WithLabelValues(outcomeError).Inc()
		return err
	}
	s.metrics.matchQuerySecs.Observe(mp.Duration().Seconds())
	out := api.MatchResponse{Query: api.Query{Path: path, DurationS: api.Millis(mp.Duration().Seconds()), Captured: sp.captured}, Matches: []api.Segment{}}
	for _, seg := range segs {
		out.Matches = append(out.Matches, s.segmentJSON(seg, c))
	}
	if len(segs) > 0 {
		s.metrics.matchOutcomes.WithLabelValues(outcomeMatched).Inc()
	} else {
		s.metrics.matchOutcomes.WithLabelValues(outcomeUnmatched).Inc()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// postMatchStream matches the request body as it arrives (chunked
// transfer encoding, any streamable container: MP3, ADTS AAC, Ogg, WAV,
// FLAC, MPEG-TS, Matroska/WebM, fragmented MP4) and answers NDJSON: one
// "segment" event per segment as soon as it is final, then "end".
func (s *Server) postMatchStream(w http.ResponseWriter, r *http.Request, c *call) error {
	// The opening bytes are read in a receiving slot, before the stream
	// takes one of MaxStreams: a client that connects and trickles holds
	// no stream slot (see Load in the package doc).
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	br := s.limitBody(w, r, s.conf().MaxStreamBytes)
	prefix := make([]byte, streamPrefixBytes)
	n, err := io.ReadFull(r.Body, prefix)
	release()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return uploadErr(err)
	}
	body := io.MultiReader(bytes.NewReader(prefix[:n]), r.Body)
	leave, err := s.limit.stream(c.key.ID)
	if err != nil {
		return err
	}
	defer leave()
	ctx := r.Context()
	pace := newPacer(s.conf().StreamSpeed, s.conf().StreamBurst)
	rc := http.NewResponseController(w)
	// HTTP/1.1 answers while the request body is still being read.
	if err := rc.EnableFullDuplex(); err != nil {
		c.log.Debug("full duplex unavailable", "err", err)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	emit := func(ev api.StreamEvent) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	start := time.Now()
	res, err := s.matcher.QueryStream(ctx, body, match.QueryOptions{MaxDuration: s.conf().MaxStreamDuration, Work: s.limit.do, Pace: pace.wait},
		func(seg match.Segment) error {
			sj := s.segmentJSON(seg, c)
			return emit(api.StreamEvent{Type: "segment", Segment: &sj})
		})
	s.metrics.extractSeconds.Add(time.Since(start).Seconds())
	s.metrics.audioSeconds.Add(res.AudioDuration.Seconds())
	dur, count := res.Duration, res.Segments
	if lerr := br.limitErr(); lerr != nil {
		// The body hit a limit. The decoder may have taken the read error
		// for the end of the stream; the client must hear that matching
		// stopped, and why.
		err = lerr
	}
	if err != nil {
		if reason, _, ok := decodeReason(err); ok {
			s.metrics.decodeErrors.WithLabelValues(reason).Inc()
		}
		s.metrics.matchOutcomes.WithLabelValues(outcomeError).Inc()
		e := errorOf(uploadErr(err))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e = apiErr(http.StatusRequestEntityTooLarge, codeStreamTooLarge, "stream reached the daemon's cap of %d bytes (serve --max-stream-bytes): matching stopped there", mbe.Limit)
		}
		_ = emit(api.StreamEvent{Type: "error", Error: &api.Error{Code: e.Code, Message: e.Message}})
		return e // logged and counted; the 200 is already sent
	}
	if count > 0 {
		s.metrics.matchOutcomes.WithLabelValues(outcomeMatched).Inc()
	} else {
		s.metrics.matchOutcomes.WithLabelValues(outcomeUnmatched).Inc()
	}
	s.metrics.matchQuerySecs.Observe(dur.Seconds())
	return emit(api.StreamEvent{Type: "end", Query: &api.Query{DurationS: api.Millis(dur.Seconds())}, Matches: count})
}

// postMatchURL matches media the daemon fetches itself: http and https
// URLs (if Config.AllowRemoteURLs) and files under Config.MediaRoot.
func (s *Server) postMatchURL(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.MatchURLRequest
	if err := decodeJSONBody(io.LimitReader(r.Body, 64<<10), &req); err != nil {
		return apiErr(http.StatusBadRequest, codeBadRequest, "body: want {\"url\": \"...\"}: %v", err)
	}
	// Fetching is receiving: it holds a receiving slot, not a ticket.
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	if req.DurationS < 0 || req.DurationS > s.conf().MaxMediaDuration.Seconds() {
		release()
		return apiErr(http.StatusBadRequest, codeBadRequest, "duration_s %g: want 0 (the default) to %g", req.DurationS, s.conf().MaxMediaDuration.Seconds())
	}
	fctx, cancel := context.WithTimeout(r.Context(), s.conf().RequestTimeout)
	sp, err := s.openMedia(fctx, req.URL, time.Duration(req.DurationS*float64(time.Second)))
	cancel()
	release()
	if err != nil {
		s.metrics.matchOutcomes.WithLabelValues(outcomeError).Inc()
		return err
	}
	defer sp.Close()
	ctx, done, err := s.admit(r)
	if err != nil {
		return err
	}
	defer done()
	return s.matchSpooled(ctx, w, c, sp, req.URL)
}

// openMedia resolves a media reference: a file path or file: URL under
// MediaRoot, or an http(s) URL when remote URLs are allowed (fetch; take
// bounds a stream's capture, 0 for the default). It applies
// MaxUploadBytes to what it reads.
func (s *Server) openMedia(ctx context.Context, ref string, take time.Duration) (*spooled, error) {
	u, err := url.Parse(ref)
	if err != nil || ref == "" {
		return nil, apiErr(http.StatusBadRequest, codeBadRequest, "media reference %q is not a URL or path", ref)
	}
	switch u.Scheme {
	case "http", "https":
		if !s.conf().AllowRemoteURLs {
			return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "remote URLs are disabled on this server (serve --allow-remote-urls)")
		}
		return s.fetch(ctx, u, take)
	case "file", "":
		p := u.Path
		if u.Scheme == "" {
			p = ref
		}
		return s.openLocal(p)
	}
	return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "scheme %q not allowed (http, https, file)", u.Scheme)
}

// openLocal opens a file that must lie under MediaRoot (OpenLocal).
func (s *Server) openLocal(p string) (*spooled, error) {
	if s.conf().MediaRoot == "" {
		return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "local files are disabled on this server (serve --media-root)")
	}
	f, err := OpenLocal(s.conf().MediaRoot, p, s.conf().MaxUploadBytes)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &spooled{name: filepath.Base(p), size: fi.Size(), r: f, f: f}, nil
}

// OpenLocal opens media file p, which must be a regular file lying under
// root once symbolic links are resolved (a relative p is taken from
// root), of at most maxBytes. Its errors are *Error values with the
// API's codes (media_not_found, url_not_allowed, upload_too_large): the
// daemon and the command line refuse the same paths the same way.
func OpenLocal(root, p string, maxBytes int64) (*os.File, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("media root %s: %w", root, err)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(realRoot, p)
	}
	// Outside the root even before links are followed: refuse without
	// saying whether the file exists.
	if !within(realRoot, filepath.Clean(p)) && !within(root, filepath.Clean(p)) {
		return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "media file %q is outside the media root", p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil, apiErr(http.StatusUnprocessableEntity, codeMediaNotFound, "media file %q does not exist", p)
	}
	if err != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, codeMediaNotFound, "media file %q: %v", p, err)
	}
	if !within(realRoot, real) {
		return nil, apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "media file %q is outside the media root", p)
	}
	// Only regular files: opening a FIFO blocks until a writer comes,
	// uncancellably, and a device may never end. Checked before the open,
	// then opened without blocking and checked again on the open file (the
	// path may have been swapped in between).
	notRegular := apiErr(http.StatusUnprocessableEntity, codeMediaNotFound, "media file %q is not a regular file", p)
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return nil, notRegular
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, codeMediaNotFound, "media file %q: %v", p, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, notRegular
	}
	if fi.Size() > maxBytes {
		f.Close()
		return nil, apiErr(http.StatusRequestEntityTooLarge, codeUploadTooLarge,
			"media file %q is %d bytes, larger than the limit of %d", p, fi.Size(), maxBytes)
	}
	return f, nil
}

// within reports whether path p lies under dir.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
