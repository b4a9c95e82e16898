package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/auth"
)

// serveOptions is serve's resolved configuration.
type serveOptions struct {
	cfg      server.Config
	sf       *storeFlags
	level    slog.Level
	check    bool
	settings []setting
}

// serveSettings resolves serve's configuration from its command line, the
// environment and the configuration file (applySettings). SIGHUP calls
// it again with the same arguments.
func serveSettings(e *env, args []string) (*serveOptions, error) {
	fs := newFlagSet(e, "serve", "serve [--config FILE] [--db DIR] [--listen ADDR] [flags]\n\n"+
		"Every flag can also be set as CUEPRINT_<FLAG> in the environment (CUEPRINT_MAX_UPLOAD_BYTES=2G) or as\n"+
		"\"flag: value\" in a YAML file given by --config or $CUEPRINT_CONFIG; the command line wins over the\n"+
		"environment, which wins over the file. SIGHUP re-reads them: limits, timeouts, --media-root,\n"+
		"--allow-remote-urls and --log-level change at once, the rest at the next start.")
	o := &serveOptions{sf: addStoreFlags(fs)}
	cfg := &o.cfg
	configFile := fs.String("config", "", "YAML configuration `file` (default $CUEPRINT_CONFIG)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "`address` to serve HTTP on (host:port; port 0 picks one)")
	fs.IntVar(&cfg.Workers, "workers", runtime.NumCPU(), "requests decoding or matching at once (default: one per core)")
	fs.IntVar(&cfg.ScanWorkers, "scan-workers", 0, "items of one scan processed at once, in the workers' slots (0: --workers)")
	fs.IntVar(&cfg.QueueDepth, "queue", 4*runtime.NumCPU(), "admitted requests waiting for a worker; past it 429")
	fs.IntVar(&cfg.MaxStreams, "max-streams", 16, "streaming matches at once")
	fs.IntVar(&cfg.MaxStreamsPerKey, "max-streams-per-key", 0, "streaming matches one API key may run at once (0: half of --max-streams)")
	fs.IntVar(&cfg.MaxUploads, "max-uploads", 256, "request bodies received at once (before admission)")
	fs.IntVar(&cfg.MaxUploadsPerKey, "max-uploads-per-key", 32, "request bodies one API key may send at once")
	minRate := byteSize(1024)
	fs.Var(&minRate, "min-upload-rate", "slowest a request body may arrive, in `bytes` a second over each --body-stall-timeout (408 below)")
	fs.DurationVar(&cfg.BodyStallTimeout, "body-stall-timeout", 60*time.Second, "the window over which --min-upload-rate is measured")
	maxUpload := byteSize(1 << 30)
	fs.Var(&maxUpload, "max-upload-bytes", "largest request body (`size`: bytes, or 512M, 2G)")
	fs.DurationVar(&cfg.MaxMediaDuration, "max-duration", 4*time.Hour, "longest media of an upload or URL (a `duration`: 90m, 4h)")
	var maxStream byteSize
	fs.Var(&maxStream, "max-stream-bytes", "bytes one streaming match may send (`size`; 0: no cap, a station runs for days)")
	fs.DurationVar(&cfg.MaxStreamDuration, "max-stream-duration", 0, "media one streaming match may decode (0: no cap)")
	fs.Float64Var(&cfg.StreamSpeed, "stream-speed", 8, "times real time a stream is decoded at once past --stream-burst")
	fs.DurationVar(&cfg.StreamBurst, "stream-burst", 10*time.Minute, "media a stream may decode at full speed")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 15*time.Minute, "longest a request may work")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&cfg.MediaRoot, "media-root", "", "`directory` that file URLs and bulk manifest paths may read (default: none)")
	fs.BoolVar(&cfg.AllowRemoteURLs, "allow-remote-urls", false, "let /v1/match/url and bulk manifests fetch http(s) URLs")
	fs.Var(&o.sf.postingsMemory, "postings-memory", "memory the postings are held in (`size`; default half the machine's memory); past it, lists are read from disk")
	o.level = slog.LevelInfo // the access log is written at info
	fs.TextVar(&o.level, "log-level", slog.LevelInfo, "least important log `level` written: debug, info (one line per request), warn, error")
	fs.BoolVar(&o.check, "check-config", false, "print the effective configuration, with where each value came from, and exit")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 0 {
		return nil, fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	path := *configFile
	if path == "" {
		path, _ = e.lookupEnv("CUEPRINT_CONFIG")
	}
	if o.settings, err = applySettings(fs, path, nil, e.lookupEnv); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	var errs []error
	if cfg.Workers < 1 {
		errs = append(errs, fmt.Errorf("--workers %d: want at least 1", cfg.Workers))
	}
	if cfg.MediaRoot != "" {
		if cfg.MediaRoot, err = filepath.Abs(cfg.MediaRoot); err != nil {
			errs = append(errs, fmt.Errorf("--media-root: %v", err))
		} else if fi, err := os.Stat(cfg.MediaRoot); err != nil {
			errs = append(errs, fmt.Errorf("--media-root: %v", err))
		} else if !fi.IsDir() {
			errs = append(errs, fmt.Errorf("--media-root %s: not a directory", cfg.MediaRoot))
		}
	}
	cfg.MinUploadRate, cfg.MaxUploadBytes, cfg.MaxStreamBytes = int64(minRate), int64(maxUpload), int64(maxStream)
	cfg.Version = version()
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %v", errUsage, errors.Join(errs...))
	}
	return o, nil
}

func runServe(ctx context.Context, e *env, args []string) (err error) {
	o, err := serveSettings(e, args)
	if err != nil {
		return err
	}
	if o.check {
		b, err := formatSettings(o.settings)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	e.level.Set(o.level)
	cfg, sf := o.cfg, o.sf

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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadServe(e, args, srv, o)
			}
		}
	}()
	fmt.Fprintf(e.stderr, "cueprint serve: listening on http://%s (store %s, %d works)\n", ln.Addr(), sf.db, st.Live())
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "cueprint serve: stopped")
	return nil
}

// reloadServe re-reads serve's configuration on SIGHUP and applies what a
// running daemon can change; a configuration that does not resolve
// changes nothing and is logged. cur is what is in force, updated.
func reloadServe(e *env, args []string, srv *server.Server, cur *serveOptions) {
	o, err := serveSettings(e, args)
	if err != nil {
		e.log.Error("configuration not reloaded", "err", err)
		return
	}
	fixed, err := srv.Reload(o.cfg)
	if err != nil {
		e.log.Error("configuration not reloaded", "err", err)
		return
	}
	if o.sf.db != cur.sf.db || o.sf.minFree != cur.sf.minFree || o.sf.postingsMemory != cur.sf.postingsMemory {
		fixed = append(fixed, "store (db, min-free, postings-memory)")
	}
	e.level.Set(o.level)
	var changed []string
	was := map[string]string{}
	for _, s := range cur.settings {
		was[s.name] = s.value
	}
	for _, s := range o.settings {
		if was[s.name] != s.value {
			changed = append(changed, s.name+"="+s.value)
		}
	}
	o.sf = cur.sf // the store opened at start stays; its change was reported
	*cur = *o
	e.log.Info("configuration reloaded", "changed", strings.Join(changed, " "))
	if len(fixed) > 0 {
		e.log.Warn("configuration changes that take effect at the next start", "settings", strings.Join(fixed, ", "))
	}
}
