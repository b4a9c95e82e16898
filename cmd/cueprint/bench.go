package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/corpus/bench"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/corpus/videobench"
	"github.com/cueprint/cueprint/fingerprint/media"
)

// audioExts are the file endings a --refs directory is searched for.
var audioExts = map[string]bool{".ogg": true, ".mp3": true, ".flac": true, ".wav": true, ".m4a": true, ".aac": true, ".opus": true, ".mp4": true, ".mkv": true, ".webm": true}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench", "bench [--refs LIST|DIR] [--out DIR] [--quick] [--video] [--scale N | --scale-hours H [--scale-work-seconds S]] [--store-hours H] [--seed N]")
	refs := fs.String("refs", "", "references: a duration<TAB>path `list` or a directory (default: the public set)")
	out := fs.String("out", "out/bench", "output `directory` for results.json, results.md and the charts")
	quick := fs.Bool("quick", false, "a few tracks and conditions (under 2 minutes)")
	hours := fs.Float64("store-hours", 0, "pad the store to this many `hours` with speed-shifted renditions (latency at scale)")
	scale := fs.Int("scale", 0, "run the scale simulation up to `N` works (10,000, 100,000, 1,000,000 steps)")
	scaleHours := fs.Float64("scale-hours", 0, "run the scale simulation up to `H` hours of real-length works (1,000, 10,000, 66,700 steps)")
	scaleSec := fs.Float64("scale-work-seconds", 0, "length of a synthetic work in the scale simulation, in `seconds` (default 10 with --scale, real lengths with --scale-hours)")
	seed := fs.Uint64("seed", 20261121, "seed of the split, offsets and noise")
	workers := fs.Int("workers", 0, "parallel queries (0: one per core)")
	video := fs.Bool("video", false, "run the video benchmark on the real footage of make deps instead")
	footage := fs.String("footage", ".cache/video/x", "`directory` the video footage was unpacked into (--video)")
	only := fs.String("conditions", "", "run only these `names` (comma-separated, e.g. white-0dB,music-0dB)")
	lengths := fs.String("lengths", "", "query lengths in `seconds` (comma-separated; default 3,5,10,20, or 5,10 with --quick)")
	perRef := fs.Int("per-ref", 1, "excerpts per reference, condition and length, at random offsets (`N`)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the query phase (of the largest scale step's one-at-a-time queries, with --scale or --scale-hours) to `file`")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: bench takes no arguments", errUsage)
	}
	if *video {
		res, err := videobench.Run(ctx, videobench.Config{Footage: *footage, Dir: filepath.Join(*out, "video"), Quick: *quick, Seed: *seed, Progress: e.stderr})
		if err != nil {
			return err
		}
		if err := res.Write(*out); err != nil {
			return err
		}
		fmt.Fprint(e.stdout, res.Markdown())
		fmt.Fprintf(e.stderr, "wrote %s/video.json, video.md\n", *out)
		return nil
	}
	if *scale < 0 || *scale > 100_000_000 {
		return fmt.Errorf("%w: --scale %d: want 0 to 100000000 works", errUsage, *scale)
	}
	if *scaleSec != 0 && (*scaleSec < 1 || *scaleSec > 3600) {
		return fmt.Errorf("%w: --scale-work-seconds %g: want 1 to 3600", errUsage, *scaleSec)
	}
	if *scaleHours < 0 || *scaleHours > 1_000_000 || (*scaleHours > 0 && *scale > 0) {
		return fmt.Errorf("%w: --scale-hours %g: want 0 to 1000000 hours, and not with --scale", errUsage, *scaleHours)
	}
	if *perRef < 1 || *perRef > 100 {
		return fmt.Errorf("%w: --per-ref %d: want 1 to 100", errUsage, *perRef)
	}
	var lens []float64
	if *lengths != "" {
		for _, f := range strings.Split(*lengths, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 1 || v > 120 {
				return fmt.Errorf("%w: --lengths %q: want seconds from 1 to 120, comma-separated", errUsage, *lengths)
			}
			lens = append(lens, v)
		}
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	tracks, err := loadRefs(ctx, *refs)
	if err != nil {
		return err
	}
	cfg := bench.Config{
		Refs: tracks, Dir: filepath.Join(*out, "store"), Quick: *quick, Seed: *seed,
		StoreHours: *hours, Workers: *workers, Progress: e.stderr, Scale: *scale, ScaleWorkSeconds: *scaleSec, ScaleHours: *scaleHours,
		Only: names, Lengths: lens, PerRef: *perRef,
	}
	steps := &phaseProgress{w: e.stderr, label: "bench"}
	defer steps.finish()
	cfg.Step = steps.step
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.QueryHook = func() func() {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(e.stderr, "cpuprofile: %v\n", err)
				return func() {}
			}
			return pprof.StopCPUProfile
		}
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := res.Write(*out); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, res.Markdown())
	fmt.Fprintf(e.stderr, "wrote %s/results.json, results.md, %s\n", *out, strings.Join(res.ChartNames(), ", "))
	return nil
}

func loadRefs(ctx context.Context, refs string) ([]publicset.Track, error) {
	if refs == "" {
		return publicset.Default()
	}
	fi, err := os.Stat(refs)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return publicset.Load(refs)
	}
	var out []publicset.Track
	err = filepath.WalkDir(refs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !audioExts[strings.ToLower(filepath.Ext(p))] {
			return err
		}
		info, err := media.DecodeOnlyFile(ctx, p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipping %s: %v\n", p, err)
			return nil
		}
		out = append(out, publicset.Track{Path: p, DurationS: info.Decoded.Seconds()})
		return nil
	})
	return out, err
}
