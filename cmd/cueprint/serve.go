package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/auth"
)

func runServe(ctx context.Context, e *env, args []string) (err error) {
	fs := newFlagSet(e, "serve", "serve [--db DIR] [--listen ADDR] [flags]")
	sf := addStoreFlags(fs)
	var cfg server.Config
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "`address` to serve HTTP on (host:port; port 0 picks one)")
	fs.IntVar(&cfg.Workers, "workers", runtime.NumCPU(), "requests decoding or matching at once")
	fs.IntVar(&cfg.ScanWorkers, "scan-workers", 0, "items of one scan processed at once, in the workers' slots (default: --workers)")
	fs.IntVar(&cfg.QueueDepth, "queue", 4*runtime.NumCPU(), "admitted requests waiting for a worker; past it 429")
	fs.IntVar(&cfg.MaxStreams, "max-streams", 16, "streaming matches at once")
	fs.IntVar(&cfg.MaxStreamsPerKey, "max-streams-per-key", 0, "streaming matches one API key may run at once (default half of --max-streams)")
	fs.IntVar(&cfg.MaxUploads, "max-uploads", 256, "request bodies received at once (before admission)")
	fs.IntVar(&cfg.MaxUploadsPerKey, "max-uploads-per-key", 32, "request bodies one API key may send at once")
	minRate := byteSize(1024)
	fs.Var(&minRate, "min-upload-rate", "slowest a request body may arrive, in `bytes` a second over each --body-stall-timeout (408 below)")
	fs.DurationVar(&cfg.BodyStallTimeout, "body-stall-timeout", 60*time.Second, "the window over which --min-upload-rate is measured")
	maxUpload := byteSize(1 << 30)
	fs.Var(&maxUpload, "max-upload-bytes", "largest request body (`size`: bytes, or 512M, 2G)")
	fs.DurationVar(&cfg.MaxMediaDuration, "max-duration", 4*time.Hour, "longest media of an upload or URL")
	var maxStream byteSize
	fs.Var(&maxStream, "max-stream-bytes", "bytes one streaming match may send (`size`; 0: no cap, a station runs for days)")
	fs.DurationVar(&cfg.MaxStreamDuration, "max-stream-duration", 0, "media one streaming match may decode (0: no cap)")
	fs.Float64Var(&cfg.StreamSpeed, "stream-speed", 8, "times real time a stream is decoded at once past --stream-burst")
	fs.DurationVar(&cfg.StreamBurst, "stream-burst", 10*time.Minute, "media a stream may decode at full speed")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 15*time.Minute, "longest a request may work")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&cfg.MediaRoot, "media-root", "", "`directory` that file URLs and bulk manifest paths may read (default: none)")
	fs.BoolVar(&cfg.AllowRemoteURLs, "allow-remote-urls", false, "let /v1/match/url and bulk manifests fetch http(s) URLs")
	fs.Var(&sf.postingsMemory, "postings-memory", "memory the postings are held in (`size`; default half the machine's memory); past it, lists are read from disk")
	check := fs.Bool("check-config", false, "print the effective configuration and exit")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	if cfg.MediaRoot != "" {
		if cfg.MediaRoot, err = filepath.Abs(cfg.MediaRoot); err != nil {
			return fmt.Errorf("%w: --media-root: %v", errUsage, err)
		}
	}
	cfg.MinUploadRate, cfg.MaxUploadBytes, cfg.MaxStreamBytes = int64(minRate), int64(maxUpload), int64(maxStream)
	cfg.Version = version()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *check {
		fmt.Fprintf(e.stdout, "%+v\n", cfg)
		return nil
	}

	st, err := openStore(ctx, e, sf, true)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	keys, err := auth.Open(sf.db)
	if err != nil {
		return err
	}
	if ks, err := keys.List(); err == nil && len(ks) == 0 {
		fmt.Fprintf(e.stderr, "cueprint serve: no API keys yet; create the first with: cueprint keys create --db %s --role admin --tenant NAME\n", sf.db)
	}
	reg := prometheus.NewRegistry()
	srv, err := server.New(cfg, st, keys, reg, e.log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	// Load the postings into memory while serving: the first queries are
	// slower until it is done, none wait for it. Writes from then on are
	// merged into it in the background.
	go func() {
		start := time.Now()
		n, err := st.LoadPostings(ctx)
		if err != nil {
			e.log.Warn("postings load stopped", "err", err)
			return
		}
		e.log.Info("postings loaded", "lists", n, "bytes", st.Stats().SegmentBytes, "duration", time.Since(start))
	}()
	fmt.Fprintf(e.stderr, "cueprint serve: listening on http://%s (store %s, %d works)\n", ln.Addr(), sf.db, st.Live())
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "cueprint serve: stopped")
	return nil
}
