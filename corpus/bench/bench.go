// Package bench is cueprint's reproducible accuracy, speed and size
// benchmark on real recordings (`cueprint bench`).
//
// From a list of references (the public set by default) it splits, with a
// fixed seed, registered and unregistered tracks; registers the former into
// a fresh store, measuring fingerprinting throughput against FFmpeg's
// decode-only throughput on the same files, and peak memory; optionally
// pads the store to a number of hours with speed-shifted renditions (20 %
// and more away from the originals: new prints with real statistics) so
// latency is measured at catalogue scale; then renders queries of every
// length under every condition (package degrade, in process) plus
// negatives (unregistered music, real speech, noise, silence), matches them
// (package eval) and reports per condition and length.
//
// The scale simulation (Config.Scale, `--scale N`) then builds fresh stores
// of 10,000, 100,000 and 1,000,000 works (up to N): the registered
// references plus synthetic prints with the real statistics of music (see
// synth: chunks of the references' own prints, transposed and stretched
// far outside the matcher's search, so their hashes follow music's
// distribution but never align with a reference), loaded with index.Build.
// At each size it reports build time, store size, and recall, false
// positives and match latency of a fixed sample of the real queries. A
// synthetic work is ScaleWorkSeconds long (10 s by default: a million of
// them, 2,778 hours, build and query in under 30 minutes on 2 cores; the
// hours column says what the store holds, which is what latency follows).
package bench

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/corpus/eval"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
)

// Config says what to run.
type Config struct {
	// Refs are the reference recordings; undecodable ones are reported and
	// skipped.
	Refs []publicset.Track
	// Dir holds the store (created fresh).
	Dir string
	// Quick runs a few tracks and conditions (under 2 minutes on 2 cores).
	Quick bool
	// Seed fixes the split, the offsets and the noise.
	Seed uint64
	// StoreHours pads the store with speed-shifted renditions until it
	// holds this many hours (0: the registered references only).
	StoreHours float64
	// Scale, when above the number of registered references, runs the
	// scale simulation up to this many works (see ScaleSizes), each of
	// ScaleWorkSeconds of synthetic print beyond the references. Quick
	// runs default to QuickScaleWorks.
	Scale            int
	ScaleWorkSeconds float64
	// ScaleHours, when above 0, runs the scale simulation in hours instead
	// (ScaleHourSteps up to it): catalogue sizes of 1,000, 10,000 and
	// 66,700 hours, with synthetic works of real length (mean 4 minutes)
	// unless ScaleWorkSeconds fixes one.
	ScaleHours float64
	// Workers matching and fingerprinting in parallel (0: one per core).
	Workers int
	// Progress receives progress lines (nil: discarded).
	Progress io.Writer
	// Step, if set, is called as the run's long phases go on: phase
	// "register" (references fingerprinted) and "query" (queries
	// answered), with done of total.
	Step func(phase string, done, total int)
	// Only, when set, keeps only the named conditions (Condition.Name) of
	// the run's list: a focused run for tuning one kind of degradation.
	Only []string
	// Lengths, when set, replaces the query lengths (seconds).
	Lengths []float64
	// PerRef is how many excerpts of each registered reference are taken
	// per condition and length, at independent random offsets (0: 1).
	// More excerpts give finer recall figures: one reference's excerpt is
	// 1/24 of a full run's figure.
	PerRef int
	// QueryHook, when set, is called just before the queries run and its
	// result just after (e.g. to profile the query phase only); with a
	// scale simulation, around the largest step's one-at-a-time queries
	// instead.
	QueryHook func() func()
}

// Condition is one benchmark condition and the axis it is charted on.
type Condition struct {
	degrade.Condition
	// Family groups conditions on one chart line ("white", "speed", ...);
	// X is the condition's value on that chart (SNR dB, speed ratio).
	Family string  `json:"family"`
	X      float64 `json:"x"`
	// Mix names what is mixed in: "music" or "speech".
	Mix string `json:"mix,omitempty"`
}

// Conditions returns the benchmark's conditions (shared/corpus/README.md).
func Conditions(quick bool) []Condition {
	mp3 := func(kbps int64) *media.Codec {
		return &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: kbps * 1000}
	}
	c := func(name string, d degrade.Condition) Condition {
		d.Name = name
		if d.Speed == 0 {
			d.Speed = 1
		}
		return Condition{Condition: d}
	}
	if quick {
		return []Condition{
			c("clean", degrade.Condition{}),
			c("mp3-32k", degrade.Condition{Codec: mp3(32)}),
			{Condition: named(degrade.Condition{Noise: degrade.NoiseWhite, SNRdB: 5, Speed: 1}, "white-5dB"), Family: "white", X: 5},
			{Condition: degrade.Speed(1.05), Family: "speed", X: 1.05},
			{Condition: degrade.Pitch(100), Family: "pitch", X: math.Pow(2, 100.0/1200)},
			c("phone", degrade.Phone()),
		}
	}
	out := []Condition{
		c("clean", degrade.Condition{}),
		c("mp3-64k", degrade.Condition{Codec: mp3(64)}),
		c("mp3-32k", degrade.Condition{Codec: mp3(32)}),
		c("aac-48k", degrade.Condition{Codec: &media.Codec{Encoder: "aac", Format: "adts", BitRate: 48000}}),
		c("opus-24k", degrade.Condition{Codec: &media.Codec{Encoder: "libopus", Format: "ogg", BitRate: 24000}}),
		c("gain-20dB", degrade.Condition{Filters: "volume=-20dB"}),
		c("phone", degrade.Phone()),
		c("bandlimit-3k", degrade.Condition{Filters: "lowpass=f=3000,lowpass=f=3000,highpass=f=200"}),
		c("eq", degrade.Condition{Filters: "equalizer=f=100:t=q:w=1:g=12,equalizer=f=1500:t=q:w=2:g=-10,equalizer=f=3000:t=q:w=1:g=8"}),
		c("reverb", degrade.Condition{Filters: "aecho=0.8:0.8:53|97|151:0.5|0.35|0.25"}),
	}
	for _, kind := range []string{degrade.NoiseWhite, degrade.NoisePink, "speech", "music"} {
		snrs := []float64{15, 10, 5, 0, -5}
		for _, snr := range snrs {
			d := degrade.Condition{Noise: kind, SNRdB: snr, Speed: 1}
			cond := Condition{Condition: named(d, fmt.Sprintf("%s-%gdB", kind, snr)), Family: kind, X: snr}
			if kind == "speech" || kind == "music" {
				cond.Noise = degrade.NoiseMix
				cond.Mix = kind
			}
			out = append(out, cond)
		}
	}
	// 0.85 and 1.15 lie beyond the matcher's variant grid (0.91-1.09
	// and ±1.5 semitones): the invariant search alone finds them.
	for _, r := range []float64{0.85, 0.9, 0.95, 0.98, 1.02, 1.05, 1.1, 1.15} {
		out = append(out,
			Condition{Condition: degrade.Speed(r), Family: "speed", X: r},
			Condition{Condition: degrade.Tempo(r), Family: "tempo", X: r},
			Condition{Condition: degrade.Pitch(1200 * math.Log2(r)), Family: "pitch", X: r},
		)
	}
	// Pitch-only shifts are also measured at +100 cents, a semitone (the
	// ratios above give +84 and +165), and at ±300 cents.
	for _, cents := range []float64{100, -300, 300} {
		out = append(out, Condition{Condition: degrade.Pitch(cents), Family: "pitch", X: math.Pow(2, cents/1200)})
	}
	return out
}

func named(d degrade.Condition, name string) degrade.Condition { d.Name = name; return d }

// Lengths are the query lengths, in seconds.
func Lengths(quick bool) []float64 {
	if quick {
		return []float64{5, 10}
	}
	return []float64{3, 5, 10, 20}
}

// serialQueries is how many 10 s queries serialLatency runs (quick: a
// tenth): enough for a median to a millisecond or so, in one to two
// minutes on a 12-hour store.
const serialQueries = 400

// serialLatency runs an evenly spaced sample of the 10 s queries (the
// list is ordered by condition, so every condition keeps its share) one
// at a time and records their median match latency.
func serialLatency(ctx context.Context, m *match.Matcher, p fingerprint.AudioParams, qs []eval.Query, quick bool, c *Cost) error {
	var ten []eval.Query
	for _, q := range qs {
		if q.Excerpt.LengthS == 10 {
			ten = append(ten, q)
		}
	}
	n := serialQueries
	if quick {
		n /= 10
	}
	step := max(1, len(ten)/n)
	var sample []eval.Query
	for i := 0; i < len(ten) && len(sample) < n; i += step {
		sample = append(sample, ten[i])
	}
	var pos, all []float64
	for _, o := range eval.Run(ctx, m, p, sample, 1) {
		if o.Err != nil {
			return fmt.Errorf("query %s %s@%.1f: %w", o.Query.Cond.Name, o.Query.Excerpt.Path, o.Query.Excerpt.StartS, o.Err)
		}
		ms := o.LatencyMatch.Seconds() * 1000
		all = append(all, ms)
		if o.Query.WorkID != "" {
			pos = append(pos, ms)
		}
	}
	c.SerialQueries = len(sample)
	c.Serial10sPosP50MS = eval.Quantile(pos, 0.5)
	c.Serial10sAllP50MS = eval.Quantile(all, 0.5)
	return nil
}

// Cost holds the cost figures of one run.
type Cost struct {
	// Fingerprinting (decode + resample + extract) and FFmpeg decode-only
	// speed on the same files, one core, in seconds of audio per second.
	FingerprintXRT float64 `json:"fingerprint_x_realtime"`
	DecodeOnlyXRT  float64 `json:"decode_only_x_realtime"`
	// Ratio is FingerprintXRT / DecodeOnlyXRT (1 = free).
	Ratio float64 `json:"fingerprint_to_decode_ratio"`
	// Match latency of every query (fingerprint extraction excluded), ms.
	MatchP50MS float64 `json:"match_latency_p50_ms"`
	MatchP99MS float64 `json:"match_latency_p99_ms"`
	// Match latency of matching 10 s queries only (the common case), ms.
	Match10sP50MS float64 `json:"match_latency_10s_positive_p50_ms"`
	// End-to-end latency (extract + match) of 10 s queries, ms.
	Query10sP50MS float64 `json:"query_latency_10s_p50_ms"`
	// Match latency of a sample of the 10 s queries (every condition,
	// positives and negatives) run again one at a time: what a daemon
	// answering one request takes, where the figures above are measured
	// with every core matching (Config.Workers queries at once), ms.
	SerialQueries     int     `json:"serial_latency_queries"`
	Serial10sPosP50MS float64 `json:"serial_match_latency_10s_positive_p50_ms"`
	Serial10sAllP50MS float64 `json:"serial_match_latency_10s_all_p50_ms"`
	// Store size, compacted (index.Store.Compact), and as registering
	// the works one by one left it.
	StoreBytes             int64   `json:"store_bytes"`
	StoreBytesAsRegistered int64   `json:"store_bytes_as_registered"`
	StoreHours             float64 `json:"store_hours"`
	BytesPerHour           float64 `json:"store_bytes_per_hour"`
	RegisteredWorks        int     `json:"registered_works"`
	PeakRSSRegisterB       int64   `json:"peak_rss_register_bytes"`
	PeakRSSMatchB          int64   `json:"peak_rss_match_bytes"`
	RegisterSeconds        float64 `json:"register_wall_seconds"`
	// WarmSeconds is the time to preload every postings list into memory.
	WarmSeconds float64 `json:"postings_preload_seconds"`
	// Keys describes how the store's audio keys spread its postings.
	Keys index.KeyFamilies `json:"keys"`
}

// Results is what a run writes to results.json.
type Results struct {
	Started    time.Time   `json:"started"`
	Quick      bool        `json:"quick"`
	Seed       uint64      `json:"seed"`
	Cores      int         `json:"cores"`
	GoVersion  string      `json:"go_version"`
	References int         `json:"references"`
	Registered int         `json:"registered"`
	Skipped    []string    `json:"skipped,omitempty"`
	Conditions []Condition `json:"conditions"`
	Lengths    []float64   `json:"lengths_s"`
	// PerRef is the number of excerpts per reference, condition and length.
	PerRef    int          `json:"excerpts_per_reference"`
	Positives []eval.Stats `json:"positives"`
	Negatives []eval.Stats `json:"negatives"`
	Cost      Cost         `json:"cost"`
	// Scale holds the scale simulation's steps (Config.Scale).
	Scale []ScaleStep `json:"scale,omitempty"`
	// ScaleWorkSeconds is the length of a synthetic work; 0 with a scale
	// simulation: real lengths (mean 4 minutes).
	ScaleWorkSeconds float64 `json:"scale_work_seconds,omitempty"`
	// Failures lists every positive query that was not answered right
	// and every negative one that was answered, to study a cell.
	Failures []Failure `json:"failures,omitempty"`
}

// Failure is a query the benchmark counted against cueprint: enough to
// render it again (package degrade, with the seed) and what came back.
type Failure struct {
	Condition string  `json:"condition"`
	Kind      string  `json:"kind"`
	WorkID    string  `json:"work_id,omitempty"`
	Path      string  `json:"path"`
	StartS    float64 `json:"start_s"`
	LengthS   float64 `json:"length_s"`
	MixPath   string  `json:"mix_path,omitempty"`
	MixStartS float64 `json:"mix_start_s,omitempty"`
	Seed      uint64  `json:"seed"`
	// Answer is the best segment, absent when nothing matched.
	Answer *Answer `json:"answer,omitempty"`
}

// Answer is the part of a segment a failure report needs.
type Answer struct {
	WorkID     string  `json:"work_id"`
	QueryStart float64 `json:"query_start_s"`
	RefStart   float64 `json:"ref_start_s"`
	Score      int     `json:"score"`
	Confidence float64 `json:"confidence"`
	Speed      float64 `json:"speed"`
}

// failure reports o, or returns false when it is not one.
func failure(o eval.Outcome) (Failure, bool) {
	q := o.Query
	if (q.WorkID != "" && o.Correct) || (q.WorkID == "" && !o.Matched) {
		return Failure{}, false
	}
	f := Failure{Condition: q.Cond.Name, Kind: q.Kind, WorkID: q.WorkID, Path: q.Excerpt.Path, StartS: q.Excerpt.StartS,
		LengthS: q.Excerpt.LengthS, Seed: q.Seed}
	if q.Mix != nil {
		f.MixPath, f.MixStartS = q.Mix.Path, q.Mix.StartS
	}
	if len(o.Segments) > 0 {
		best := slices.MaxFunc(o.Segments, func(a, b match.Segment) int { return a.Score - b.Score })
		f.Answer = &Answer{WorkID: best.Work.ID, QueryStart: best.QueryStart, RefStart: best.RefStart, Score: best.Score,
			Confidence: best.Confidence, Speed: best.Speed}
	}
	return f, true
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 20261121
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Quick && cfg.Scale == 0 {
		cfg.Scale = QuickScaleWorks
	}
	logw := cfg.Progress
	if logw == nil {
		logw = io.Discard
	}
	logf := func(f string, a ...any) { fmt.Fprintf(logw, f+"\n", a...) }
	res := &Results{Started: time.Now().UTC(), Quick: cfg.Quick, Seed: cfg.Seed, Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		References: len(cfg.Refs), Conditions: Conditions(cfg.Quick), Lengths: Lengths(cfg.Quick)}
	if len(cfg.Only) > 0 {
		conds, err := selectConditions(res.Conditions, cfg.Only)
		if err != nil {
			return nil, err
		}
		res.Conditions = conds
	}
	if len(cfg.Lengths) > 0 {
		res.Lengths = cfg.Lengths
	}
	res.PerRef = max(cfg.PerRef, 1)

	// Split with the seed: half registered, half negatives.
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	var usable []publicset.Track
	for _, t := range cfg.Refs {
		if publicset.Undecodable(t) {
			res.Skipped = append(res.Skipped, t.Path+": FFmpeg 5.1 rejects its Vorbis headers")
			continue
		}
		if t.DurationS < 25 {
			res.Skipped = append(res.Skipped, t.Path+": shorter than 25 s")
			continue
		}
		usable = append(usable, t)
	}
	rng.Shuffle(len(usable), func(i, j int) { usable[i], usable[j] = usable[j], usable[i] })
	nReg := (len(usable) + 1) / 2
	if cfg.Quick {
		nReg = min(nReg, 6)
	}
	registered, unregistered := usable[:nReg], usable[nReg:]
	if cfg.Quick {
		unregistered = unregistered[:min(len(unregistered), 4)]
	}

	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, err
	}
	st, err := index.Open(ctx, cfg.Dir, index.Options{Params: fingerprint.DefaultAudioParams()})
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }() // st is reopened below
	p := st.Params()

	// Register, measuring throughput one file at a time on one core.
	resetPeakRSS()
	start := time.Now()
	ids := make([]string, len(registered))
	realWorks := make([]index.Work, len(registered))
	realPeaks := make([][]fingerprint.Peak, len(registered))
	var fpAudio, fpTime, decAudio, decTime float64
	var hours float64
	for i, t := range registered {
		t0 := time.Now()
		ap, err := fingerprint.ExtractFile(ctx, t.Path, p, fingerprint.ExtractOptions{})
		if err != nil {
			return nil, err
		}
		fpTime += time.Since(t0).Seconds()
		fpAudio += ap.Duration.Seconds()
		t0 = time.Now()
		info, err := media.DecodeOnlyFile(ctx, t.Path)
		if err != nil {
			return nil, err
		}
		decTime += time.Since(t0).Seconds()
		decAudio += info.Decoded.Seconds()
		ids[i] = fmt.Sprintf("bench-%03d-%s", i, t.Name())
		realWorks[i] = index.Work{ID: ids[i], Title: t.Name(), DurationS: ap.Duration.Seconds()}
		realPeaks[i] = ap.Peaks
		if _, err := st.Register(ctx, realWorks[i], ap.Peaks, false); err != nil {
			return nil, err
		}
		hours += ap.Duration.Hours()
		if cfg.Step != nil {
			cfg.Step("register", i+1, len(registered))
		}
	}
	logf("registered %d references (%.2f h): fingerprint %.0fx real time, FFmpeg decode-only %.0fx", len(registered), hours, fpAudio/fpTime, decAudio/decTime)
	works := len(registered)
	if cfg.StoreHours > hours {
		// Renditions of every usable track (negatives are queried at speed
		// 1, at least 20 % away from any rendition).
		n, h, err := pad(ctx, st, usable, cfg.StoreHours-hours, cfg.Workers, logf)
		if err != nil {
			return nil, err
		}
		works += n
		hours += h
	}
	res.Registered = len(registered)
	res.Cost.RegisterSeconds = time.Since(start).Seconds()
	res.Cost.PeakRSSRegisterB = peakRSS()
	res.Cost.FingerprintXRT = fpAudio / fpTime
	res.Cost.DecodeOnlyXRT = decAudio / decTime
	res.Cost.Ratio = res.Cost.FingerprintXRT / res.Cost.DecodeOnlyXRT
	res.Cost.RegisteredWorks = works
	res.Cost.StoreHours = hours
	// Size after a clean close (memtables flushed), then compacted.
	if err := st.Close(); err != nil {
		return nil, err
	}
	res.Cost.StoreBytesAsRegistered = index.DirSize(cfg.Dir)
	if st, err = index.Open(ctx, cfg.Dir, index.Options{Params: p}); err != nil {
		return nil, err
	}
	if err := st.Compact(ctx); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	res.Cost.StoreBytes = index.DirSize(cfg.Dir)
	res.Cost.BytesPerHour = float64(res.Cost.StoreBytes) / hours
	if st, err = index.Open(ctx, cfg.Dir, index.Options{Params: p}); err != nil {
		return nil, err
	}
	if res.Cost.Keys, err = st.KeyStats(ctx); err != nil {
		return nil, err
	}

	// Queries.
	speech, err := publicset.Speech(60)
	if err != nil {
		return nil, err
	}
	qs := buildQueries(rng, cfg.Seed, res.Conditions, res.Lengths, res.PerRef, registered, ids, unregistered, speech, cfg.Quick)
	// A daemon keeps its postings in memory (cueprint serve loads them at
	// start); the latency reported is that steady state. Loading takes:
	t0 := time.Now()
	nh, err := st.LoadPostings(ctx)
	if err != nil {
		return nil, err
	}
	res.Cost.WarmSeconds = time.Since(t0).Seconds()
	logf("preloaded %d postings lists in %.1f s", nh, res.Cost.WarmSeconds)
	logf("running %d queries on %d workers", len(qs), cfg.Workers)
	m, err := match.New(st, match.DefaultParams(), nil)
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	var done func()
	if cfg.QueryHook != nil && cfg.Scale == 0 && cfg.ScaleHours == 0 { // with a scale run, the hook profiles its largest step
		done = cfg.QueryHook()
	}
	var step func(int)
	if cfg.Step != nil {
		step = func(n int) { cfg.Step("query", n, len(qs)) }
	}
	outs := eval.RunProgress(ctx, m, p, qs, cfg.Workers, step)
	if done != nil {
		done()
	}
	res.Cost.PeakRSSMatchB = peakRSS()
	for _, o := range outs {
		if o.Err != nil {
			return nil, fmt.Errorf("query %s %s@%.1f: %w", o.Query.Cond.Name, o.Query.Excerpt.Path, o.Query.Excerpt.StartS, o.Err)
		}
	}
	var pos, neg []eval.Outcome
	var lat, lat10, q10 []float64
	for _, o := range outs {
		if f, ok := failure(o); ok {
			res.Failures = append(res.Failures, f)
		}
		lat = append(lat, o.LatencyMatch.Seconds()*1000)
		if o.Query.WorkID == "" {
			neg = append(neg, o)
			continue
		}
		pos = append(pos, o)
		if o.Query.Excerpt.LengthS == 10 {
			lat10 = append(lat10, o.LatencyMatch.Seconds()*1000)
			q10 = append(q10, o.Latency.Seconds()*1000)
		}
	}
	res.Positives = eval.Summarize(pos, func(o eval.Outcome) string {
		return o.Query.Cond.Name + "/" + strconv.FormatFloat(o.Query.Excerpt.LengthS, 'f', -1, 64) + "s"
	})
	res.Negatives = eval.Summarize(neg, func(o eval.Outcome) string { return o.Query.Kind })
	res.Negatives = append(res.Negatives, eval.Summarize(neg, func(eval.Outcome) string { return "all" })...)
	if err := serialLatency(ctx, m, p, qs, cfg.Quick, &res.Cost); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	if cfg.Scale > len(registered) || cfg.ScaleHours > 0 {
		if cfg.ScaleWorkSeconds <= 0 && cfg.ScaleHours == 0 {
			cfg.ScaleWorkSeconds = DefaultScaleWorkSeconds
		}
		res.ScaleWorkSeconds = cfg.ScaleWorkSeconds
		realHours := 0.0
		for _, w := range realWorks {
			realHours += w.DurationS / 3600
		}
		res.Scale, err = runScale(ctx, cfg, cfg.Dir+"-scale", p, realWorks, realPeaks, realHours, qs, logf)
		if err != nil {
			return nil, fmt.Errorf("scale simulation: %w", err)
		}
	}
	res.Cost.MatchP50MS = eval.Quantile(lat, 0.5)
	res.Cost.MatchP99MS = eval.Quantile(lat, 0.99)
	res.Cost.Match10sP50MS = eval.Quantile(lat10, 0.5)
	res.Cost.Query10sP50MS = eval.Quantile(q10, 0.5)
	return res, nil
}

// selectConditions keeps the conditions named in only, in the run's order.
func selectConditions(all []Condition, only []string) ([]Condition, error) {
	var out []Condition
	for _, name := range only {
		i := slices.IndexFunc(all, func(c Condition) bool { return c.Name == name })
		if i < 0 {
			names := make([]string, len(all))
			for j, c := range all {
				names[j] = c.Name
			}
			return nil, fmt.Errorf("bench: no condition %q (have %s)", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// buildQueries draws the queries: each (condition, length) cell from its
// own generator, seeded by the run's seed and the cell's name, so that a
// cell holds the same queries whichever other conditions run beside it
// (--conditions, or conditions added to the benchmark); the negatives
// from rng.
func buildQueries(rng *rand.Rand, seed uint64, conds []Condition, lengths []float64, perRef int, reg []publicset.Track, ids []string,
	unreg []publicset.Track, speech []string, quick bool) []eval.Query {
	var qs []eval.Query
	for _, c := range conds {
		for _, length := range lengths {
			h := fnv.New64a()
			fmt.Fprintf(h, "%s/%g", c.Name, length)
			rng := rand.New(rand.NewPCG(seed, h.Sum64()))
			for k := range perRef * len(reg) {
				i, t := k%len(reg), reg[k%len(reg)]
				q := eval.Query{WorkID: ids[i], Kind: "positive", Cond: c.Condition, Seed: rng.Uint64(),
					Excerpt: degrade.Excerpt{Path: t.Path, StartS: rng.Float64() * (t.DurationS - length*1.15 - 1), LengthS: length}}
				switch c.Mix {
				case "music":
					o := unreg[rng.IntN(len(unreg))]
					q.Mix = &degrade.Excerpt{Path: o.Path, StartS: rng.Float64() * (o.DurationS - length - 1), LengthS: length * 1.2}
				case "speech":
					q.Mix = &degrade.Excerpt{Path: speech[rng.IntN(len(speech))], LengthS: length * 1.2}
				}
				qs = append(qs, q)
			}
		}
	}
	// Negatives: 10 s of unregistered music (several offsets each), real
	// speech, white and pink noise, silence.
	perTrack := 4
	if quick {
		perTrack = 2
	}
	neg := func(kind string, ex degrade.Excerpt, c degrade.Condition) {
		c.Name = "neg-" + kind
		qs = append(qs, eval.Query{Kind: kind, Excerpt: ex, Cond: c, Seed: rng.Uint64()})
	}
	for _, t := range unreg {
		for range perTrack {
			neg("music", degrade.Excerpt{Path: t.Path, StartS: rng.Float64() * (t.DurationS - 11), LengthS: 10}, degrade.Condition{})
		}
	}
	nSpeech := len(speech)
	if quick {
		nSpeech = 10
	}
	for _, s := range speech[:nSpeech] {
		neg("speech", degrade.Excerpt{Path: s, LengthS: 10}, degrade.Condition{})
	}
	for k := range 5 {
		neg("noise", degrade.Excerpt{Path: speech[k], LengthS: 10}, degrade.Condition{Noise: degrade.NoiseWhite, SNRdB: -60})
		neg("noise", degrade.Excerpt{Path: speech[k], LengthS: 10}, degrade.Condition{Noise: degrade.NoisePink, SNRdB: -60})
		neg("silence", degrade.Excerpt{Path: speech[k], LengthS: 10}, degrade.Condition{Filters: "volume=0"})
	}
	return qs
}

// padFactors are the speed factors of the padding renditions: at least
// 20 % away from 1 and 8 % from each other, outside the matcher's ±10 %
// search, so each rendition is a new print with music's real statistics.
var padFactors = []float64{0.8, 1.25, 0.74, 1.35, 0.68, 1.46, 0.63, 1.58, 0.58, 1.71, 0.54, 1.85}

// pad registers speed-shifted renditions of the references until hours
// more audio is stored.
func pad(ctx context.Context, st *index.Store, refs []publicset.Track, hours float64, workers int, logf func(string, ...any)) (int, float64, error) {
	type job struct {
		t publicset.Track
		f float64
	}
	var jobs []job
	want := hours
	for _, f := range padFactors {
		for _, t := range refs {
			if want <= 0 {
				break
			}
			jobs = append(jobs, job{t, f})
			want -= t.DurationS / f / 3600
		}
	}
	var mu sync.Mutex
	var added float64
	var firstErr error
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			filters := fmt.Sprintf("aresample=44100,asetrate=%d,aresample=44100", int(44100*j.f))
			ap, err := fingerprint.ExtractFile(ctx, j.t.Path, st.Params(), fingerprint.ExtractOptions{Filters: filters})
			if err == nil {
				_, err = st.Register(ctx, index.Work{ID: fmt.Sprintf("pad-%04d-%.2f-%s", i, j.f, j.t.Name()), DurationS: ap.Duration.Seconds()}, ap.Peaks, false)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil {
				added += ap.Duration.Hours()
			}
		}()
	}
	wg.Wait()
	logf("padded the store with %d renditions (%.2f h)", len(jobs), added)
	return len(jobs), added, firstErr
}

// resetPeakRSS resets the kernel's peak-RSS mark of this process (Linux
// clear_refs 5); peakRSS reads it (VmHWM).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// families returns the chart families in a stable order.
func families(conds []Condition) []string {
	var out []string
	for _, c := range conds {
		if c.Family != "" && !slices.Contains(out, c.Family) {
			out = append(out, c.Family)
		}
	}
	return out
}
