// Package server is cueprint's HTTP daemon: a JSON API under /v1 for
// registering works and matching media, on the same store and matcher as
// the command line, with API keys, Prometheus metrics and bounded work.
//
// # Routes
//
// The route table (routes in routes.go) is the single source of truth: it
// drives the mux, the access control and the metrics' route label, and a
// test checks it against the OpenAPI document (openapi.json, served at
// /v1/openapi.json).
//
// # Access control
//
// Every /v1 route but the OpenAPI document needs `Authorization: Bearer
// <key>` (package auth). Admin keys may do everything; registrar keys
// register, replace, delete, list and read their own tenant's works and
// match; matcher keys only match; monitor keys only read /metrics. A
// missing, wrong or revoked key gets 401, a valid key of the wrong role
// 403. Another tenant's work is reported as not found (404), so a
// registrar learns nothing of it. In match results every caller sees the
// fields a match must carry (id, title, times, score, confidence, speed)
// and the work's public identifiers; owners and shares, which a report
// needs for attribution, go to admins, matchers and the work's own tenant.
// /healthz and /readyz are open: probes carry no key.
//
// # Load
//
// CPU work (decode, fingerprint, match) runs in a pool of Config.Workers
// slots. A request body is received first, in one of Config.MaxUploads
// receiving slots (Config.MaxUploadsPerKey per API key), and must arrive
// at Config.MinUploadRate or faster over each Config.BodyStallTimeout;
// it is spooled (memory up to spoolMemoryBytes, then a temporary file).
// Only then is the request admitted: if Workers+QueueDepth requests are
// already in the system it gets 429 with Retry-After instead of queueing
// without bound. So a slow client holds a connection and a receiving
// slot, never a worker or a place in the queue. Streaming matches (POST
// /v1/match/stream) are limited to Config.MaxStreams at once
// (Config.MaxStreamsPerKey per key), take their slot once their first
// bytes are in, take a worker only while a window is searched, and are
// paced to Config.StreamSpeed times real time after Config.StreamBurst.
// Uploads are capped at Config.MaxUploadBytes (413) and media at
// Config.MaxMediaDuration (413); streams at Config.MaxStreamBytes and
// Config.MaxStreamDuration (an error event), by default not at all. A
// request's work runs under its context: a client that disconnects
// stops its decode. Shutdown stops accepting, lets in-flight requests
// finish within Config.ShutdownTimeout, then cancels them.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/scan"
)

// Config configures a Server. The zero value of a field means its default.
type Config struct {
	// Listen is the TCP address to serve on. The default value is
	// "127.0.0.1:8080": a daemon holding rights data is not exposed on every
	// interface unless asked.
	Listen string
	// Workers is the number of requests decoding or matching at once. The
	// default value is the number of CPUs.
	Workers int
	// QueueDepth is how many admitted requests may wait for a worker. The
	// default value is 4 per worker.
	QueueDepth int
	// MaxStreams is how many streaming matches may run at once. The default
	// value is 16.
	MaxStreams int
	// MaxStreamsPerKey is how many of them one API key may run. The
	// default value is half of MaxStreams (at least 1), so that one
	// client cannot take every stream.
	MaxStreamsPerKey int
	// MaxUploads is how many request bodies may be received at once:
	// uploads being spooled, media fetched from URLs, the first bytes of
	// streams. A body takes no admission ticket until it is in, so slow
	// clients hold these instead of places in the queue. The default
	// value is 256.
	MaxUploads int
	// MaxUploadsPerKey is how many of them one API key may hold. The
	// default value is 32.
	MaxUploadsPerKey int
	// MinUploadRate is the slowest a request body may arrive, in bytes a
	// second, measured over each BodyStallTimeout: slower, and the request
	// fails with 408 upload_stalled. The default value is 1024 (a byte
	// trickled every few seconds holds a connection for one window, not
	// for ever; the leanest live audio, 8 kb/s, sends 1000 bytes a second
	// and a stream's first window is spent on its opening bytes, so the
	// default is not lower). A negative value keeps only the stall check:
	// one byte per window.
	MinUploadRate int64
	// MaxUploadBytes caps a request body. The default value is 1 GiB.
	MaxUploadBytes int64
	// MaxMediaDuration caps the audio of one upload or URL. The default
	// value is 4 hours (a long DJ set or broadcast recording).
	MaxMediaDuration time.Duration
	// MaxStreamBytes and MaxStreamDuration cap one streaming match, in
	// bytes received and in media decoded; past either the stream ends
	// with an error event (stream_too_large, media_too_long). The default
	// for both is no cap: a station is watched for days. What bounds a
	// stream's cost is its pace (StreamSpeed).
	MaxStreamBytes    int64
	MaxStreamDuration time.Duration
	// StreamSpeed is how much faster than real time a streaming match is
	// decoded once its first StreamBurst of media is through: a live
	// stream arrives in real time, and a long file pushed through the
	// stream endpoint (or a small file that decodes to hours, such as a
	// FLAC of silence) is slowed to this pace, the client held back by
	// TCP flow control, instead of taking a core from everyone else. The
	// default value is 8.
	StreamSpeed float64
	// StreamBurst is the media a stream may decode at full speed before
	// StreamSpeed applies. The default value is 10 minutes.
	StreamBurst time.Duration
	// RequestTimeout bounds one request's work. The default value is 15
	// minutes (a 4-hour upload decodes in a few).
	RequestTimeout time.Duration
	// ReadHeaderTimeout and IdleTimeout are http.Server's. The defaults
	// are 10 s and 120 s.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// BodyStallTimeout fails an upload that sends nothing for this long.
	// The default value is 60 s.
	BodyStallTimeout time.Duration
	// ShutdownTimeout is how long Shutdown lets in-flight requests finish.
	// The default value is 30 s.
	ShutdownTimeout time.Duration
	// MediaRoot is the directory under which file: URLs and bulk manifest
	// paths may point. Empty forbids local files.
	MediaRoot string
	// AllowRemoteURLs lets POST /v1/match/url and bulk manifests fetch
	// http and https URLs. The default is false: a fetch from the daemon's
	// network position is a privilege (server-side request forgery).
	AllowRemoteURLs bool
	// ScanWorkers is how many items of one scan are processed at once
	// (their decodes and matches still take Workers slots). The default
	// value is Workers.
	ScanWorkers int
	// Version is reported in cueprint_build_info.
	Version string
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.ScanWorkers == 0 {
		c.ScanWorkers = c.Workers
	}
	if c.QueueDepth == 0 {
		c.QueueDepth = 4 * c.Workers
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 16
	}
	if c.MaxStreamsPerKey == 0 {
		c.MaxStreamsPerKey = max(1, c.MaxStreams/2)
	}
	if c.MaxUploads == 0 {
		c.MaxUploads = 256
	}
	if c.MaxUploadsPerKey == 0 {
		c.MaxUploadsPerKey = 32
	}
	if c.MinUploadRate == 0 {
		c.MinUploadRate = 1024
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 1 << 30
	}
	if c.StreamSpeed == 0 {
		c.StreamSpeed = 8
	}
	def(&c.StreamBurst, 10*time.Minute)
	def(&c.MaxMediaDuration, 4*time.Hour)
	def(&c.RequestTimeout, 15*time.Minute)
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.IdleTimeout, 120*time.Second)
	def(&c.BodyStallTimeout, 60*time.Second)
	def(&c.ShutdownTimeout, 30*time.Second)
	return c
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(cond bool, f string, a ...any) {
		if cond {
			errs = append(errs, fmt.Errorf(f, a...))
		}
	}
	c = c.withDefaults()
	bad(c.Workers < 1, "workers %d: want at least 1", c.Workers)
	bad(c.ScanWorkers < 1, "scan workers %d: want at least 1", c.ScanWorkers)
	bad(c.QueueDepth < 0, "queue depth %d: want 0 or more", c.QueueDepth)
	bad(c.MaxStreams < 1, "max streams %d: want at least 1", c.MaxStreams)
	bad(c.MaxStreamsPerKey < 1, "max streams per key %d: want at least 1", c.MaxStreamsPerKey)
	bad(c.MaxUploads < 1, "max uploads %d: want at least 1", c.MaxUploads)
	bad(c.MaxUploadsPerKey < 1, "max uploads per key %d: want at least 1", c.MaxUploadsPerKey)
	bad(c.MaxUploadBytes < 1, "max upload bytes %d: want at least 1", c.MaxUploadBytes)
	bad(c.MaxStreamBytes < 0, "max stream bytes %d: want 0 (no cap) or more", c.MaxStreamBytes)
	bad(!(c.StreamSpeed >= 1), "stream speed %g: want at least 1 (real time)", c.StreamSpeed)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max media duration", c.MaxMediaDuration}, {"max stream duration", c.MaxStreamDuration},
		{"stream burst", c.StreamBurst}, {"request timeout", c.RequestTimeout}, {"read header timeout", c.ReadHeaderTimeout},
		{"idle timeout", c.IdleTimeout}, {"body stall timeout", c.BodyStallTimeout}, {"shutdown timeout", c.ShutdownTimeout}} {
		bad(d.v < 0, "%s %v: want positive", d.name, d.v)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.MediaRoot != "" && !strings.HasPrefix(c.MediaRoot, "/") {
		errs = append(errs, fmt.Errorf("media root %q: want an absolute path", c.MediaRoot))
	}
	return errors.Join(errs...)
}

// Server is the daemon. Create it with New, run it with Serve.
type Server struct {
	cfg      atomic.Pointer[Config] // replaced whole by Reload
	store    *index.Store
	matcher  *match.Matcher
	keys     *auth.Ring
	log      *slog.Logger
	metrics  *metrics
	limit    *limiter
	spoolMem memBudget // memory of uploads being spooled
	jobs     *jobs
	scans    *scan.Manager
	live     *live
	handler  http.Handler

	// root is cancelled when shutdown gives up waiting: every request's
	// work derives from it.
	root       context.Context
	cancelRoot context.CancelFunc
	// draining is cancelled when shutdown starts: requests that would
	// never end by themselves (event streams) end then.
	draining     context.Context
	stopDraining context.CancelFunc
	closeOnce    sync.Once
}

// conf returns the configuration in force. A request reads it once per
// use; Reload swaps it whole, so no request sees half of two.
func (s *Server) conf() *Config { return s.cfg.Load() }

// Reload applies cfg to the running server. Limits, timeouts, the media
// root and remote URLs take effect for requests that start after it.
// Fields that size the server when it starts (Listen, Workers,
// ScanWorkers, QueueDepth, MaxStreams, MaxStreamsPerKey, MaxUploads,
// MaxUploadsPerKey, ReadHeaderTimeout, IdleTimeout) keep their values:
// Reload names those that differ in fixed, for the caller to say a
// restart is needed. An invalid cfg changes nothing.
func (s *Server) Reload(cfg Config) (fixed []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	cfg = cfg.withDefaults()
	old := s.conf()
	keep := func(name string, dst *int, v int) {
		if *dst != v {
			fixed = append(fixed, name)
			*dst = v
		}
	}
	keep("workers", &cfg.Workers, old.Workers)
	keep("scan workers", &cfg.ScanWorkers, old.ScanWorkers)
	keep("queue depth", &cfg.QueueDepth, old.QueueDepth)
	keep("max streams", &cfg.MaxStreams, old.MaxStreams)
	keep("max streams per key", &cfg.MaxStreamsPerKey, old.MaxStreamsPerKey)
	keep("max uploads", &cfg.MaxUploads, old.MaxUploads)
	keep("max uploads per key", &cfg.MaxUploadsPerKey, old.MaxUploadsPerKey)
	if cfg.Listen != old.Listen {
		fixed, cfg.Listen = append(fixed, "listen"), old.Listen
	}
	if cfg.ReadHeaderTimeout != old.ReadHeaderTimeout {
		fixed, cfg.ReadHeaderTimeout = append(fixed, "read header timeout"), old.ReadHeaderTimeout
	}
	if cfg.IdleTimeout != old.IdleTimeout {
		fixed, cfg.IdleTimeout = append(fixed, "idle timeout"), old.IdleTimeout
	}
	cfg.Version = old.Version
	s.cfg.Store(&cfg)
	return fixed, nil
}

// New returns a server over an open store and key ring. reg receives the
// metrics and is what /metrics serves (nil: a private registry); logger
// nil discards logs.
func New(cfg Config, store *index.Store, keys *auth.Ring, reg *prometheus.Registry, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := match.New(store, match.DefaultParams(), logger)
	if err != nil {
		return nil, err
	}
	s := &Server{store: store, matcher: m, keys: keys, log: logger}
	s.cfg.Store(&cfg)
	s.root, s.cancelRoot = context.WithCancel(context.Background())
	s.draining, s.stopDraining = context.WithCancel(s.root)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg, store, cfg.Version)
	s.limit = newLimiter(cfg, s.metrics)
	if s.jobs, err = newJobs(s); err != nil {
		return nil, err
	}
	if s.scans, err = newScans(s, reg); err != nil {
		return nil, err
	}
	if s.live, err = newLive(s, reg); err != nil {
		s.scans.Close()
		return nil, err
	}
	s.handler = s.routes(reg)
	// Bulk jobs and scans a restart cut short go on now.
	s.jobs.resume()
	for _, id := range s.scans.Unfinished() {
		if err := s.scans.Start(id); err != nil {
			s.log.Warn("scan not resumed", "scan_id", id, "err", err)
		} else {
			s.log.Info("scan resumed", "scan_id", id)
		}
	}
	return s, nil
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx is cancelled, then shuts down
// gracefully: it stops accepting, waits up to Config.ShutdownTimeout for
// in-flight requests and jobs, cancels what is left, and returns. The
// store is not closed: its owner closes it after Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.conf().ReadHeaderTimeout,
		IdleTimeout:       s.conf().IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return s.root },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "workers", s.conf().Workers, "queue", s.conf().QueueDepth)
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "deadline", s.conf().ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.conf().ShutdownTimeout)
	defer cancel()
	s.jobs.stopAccepting()
	s.stopDraining()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Warn("in-flight requests cancelled at the shutdown deadline", "err", err)
	}
	// Whatever is still running (streams, jobs) is cancelled now.
	s.cancelRoot()
	hs.Close()
	s.jobs.wait(sctx)
	s.scans.Close()
	s.live.close()
	<-errc
	s.Close()
	return nil
}

// Close cancels all work. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancelRoot()
		s.jobs.stopAccepting()
		s.scans.Close()
		s.live.close()
	})
}
