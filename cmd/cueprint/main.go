// Command cueprint identifies registered works in audio and video media.
//
// Usage:
//
//	cueprint register --db DIR --id ID [--title T] [--isrc X] [--iswc X] [--replace] FILE
//	cueprint register --db DIR --manifest works.csv
//	cueprint match    --db DIR [--json] FILE
//	cueprint match    --server URL [--json] FILE   (key in $CUEPRINT_KEY or --key-file)
//	cueprint works    list|show ID|delete ID --db DIR
//	cueprint scan     --db DIR --items LIST.csv | --dataset DIR | --list
//	cueprint report   --db DIR --scan ID | --from D --to D [--format F] [--out FILE|DIR]
//	cueprint compact  --db DIR
//	cueprint serve    --db DIR [--listen ADDR]
//	cueprint keys     create --db DIR --role ROLE --tenant NAME | list | revoke ID
//	cueprint monitor  add --name N URL | list | show ID | rm ID | events   (on a daemon: --server URL)
//	cueprint health   [--server URL] [--ready]
//
// Exit status: 0 on success (a query with no match is a success), 1 when
// the operation failed (bad media, store error, a manifest with failed
// rows), 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// errUsage marks a command-line error (exit status 2).
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env carries what every subcommand needs: streams and the logger.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
	// level is the logger's level: serve's --log-level changes it.
	level *slog.LevelVar
	// lookupEnv reads the environment (os.LookupEnv; tests replace it).
	lookupEnv func(string) (string, bool)
}

func commands() []command {
	return []command{
		{"register", "register works (one file, or a CSV manifest)", runRegister},
		{"match", "find registered works in a media file", runMatch},
		{"works", "list, show or delete registered works", runWorks},
		{"scan", "find every registered work in a catalogue's items or a dataset (resumable)", runScan},
		{"report", "write a scan's usage lines, totals, audit or DDEX DSR", runReport},
		{"compact", "drop superseded data from a store (after registering a catalogue)", runCompact},
		{"migrate", "bring a store written by an earlier cueprint to the current format", runMigrate},
		{"serve", "run the HTTP daemon (API, metrics, access control)", runServe},
		{"keys", "create, list or revoke API keys of the daemon", runKeys},
		{"monitor", "watch streams on a daemon: add, list, show, rm, and read its events", runMonitor},
		{"health", "check that a daemon is alive or ready (exit 0) or not (exit 1)", runHealth},
		{"excerpt", "render a degraded excerpt of a recording (a realistic query)", runExcerpt},
		{"bench", "measure accuracy, speed and size on real recordings", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Our errors already say what failed with which file; FFmpeg's own log
	// is shown only when CUEPRINT_LOG_LEVEL asks for it.
	level, ffmpegLevel := new(slog.LevelVar), slog.LevelError+4
	level.Set(slog.LevelWarn)
	if v := os.Getenv("CUEPRINT_LOG_LEVEL"); v != "" {
		_ = level.UnmarshalText([]byte(v))
		ffmpegLevel = level.Level()
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	media.RouteLogs(logger, ffmpegLevel)
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: logger, level: level, lookupEnv: os.LookupEnv}
	return e.dispatch(ctx, args)
}

// dispatch runs the command args name and returns the exit status.
func (e *env) dispatch(ctx context.Context, args []string) int {
	stdout, stderr := e.stdout, e.stderr
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout) // asked for: standard output, exit 0
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "cueprint %s: %v\n", c.name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "cueprint %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "cueprint: unknown command %q", args[0])
	if near := nearestCommand(args[0]); near != "" {
		fmt.Fprintf(stderr, "; did you mean %q?", near)
	}
	fmt.Fprintln(stderr, "\nRun 'cueprint help' for the commands.")
	return 2
}

// nearestCommand returns the command within two edits of name (a typo),
// or "".
func nearestCommand(name string) string {
	best, bestD := "", 3
	for _, c := range commands() {
		if d := editDistance(name, c.name); d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cueprint COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'cueprint COMMAND -h' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
// Help asked for (-h, --help) goes to standard output; a bad flag is said
// once, on standard error, with where to find the usage (parseFlags).
func newFlagSet(e *env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, and printed once by run
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "usage: cueprint %s\n\nflags:\n", usageLine)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args allowing flags after positional arguments
// ("cueprint match song.mp3 --json"); "--" ends the flags. A --db the
// command line does not give is taken from $CUEPRINT_DB: scripts name
// their store once.
func (e *env) parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if fs.Lookup("db") != nil {
		if _, err := applySettings(fs, "", []string{"db"}, e.lookupEnv); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	return pos, nil
}

// parseArgs parses the command line alone (parseFlags).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	// The flag package calls Usage on a bad flag too: print it only when
	// asked for.
	printUsage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = printUsage }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage()
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v (run 'cueprint %s -h' for its flags)", errUsage, err, fs.Name())
		}
		args = fs.Args()
		switch {
		case len(args) == 0:
			return pos, nil
		case args[0] == "--":
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runVersion(_ context.Context, e *env, _ []string) error {
	fmt.Fprintln(e.stdout, "cueprint", version())
	return nil
}
