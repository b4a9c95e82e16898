package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/cueprint/cueprint/corpus/eval"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
)

// ScaleStep is one catalogue size of the scale simulation: the registered
// references plus synthetic works, built into a fresh store with
// index.Build, then queried with the real queries of scaleConditions.
type ScaleStep struct {
	Works          int     `json:"works"`
	RealWorks      int     `json:"real_works"`
	SyntheticWorks int     `json:"synthetic_works"`
	Hours          float64 `json:"hours"`
	Postings       int64   `json:"postings"`
	StoreBytes     int64   `json:"store_bytes"`
	BytesPerHour   float64 `json:"store_bytes_per_hour"`
	// Build time: hashing into sorted runs, then loading them.
	BuildSeconds float64 `json:"build_seconds"`
	HashSeconds  float64 `json:"hash_seconds"`
	LoadSeconds  float64 `json:"load_seconds"`
	// WarmSeconds loads the postings into memory (index.Store.LoadPostings);
	// WarmHashes counts the lists and SegmentBytes their memory.
	WarmSeconds  float64 `json:"postings_preload_seconds"`
	WarmHashes   int     `json:"postings_preloaded"`
	SegmentBytes int64   `json:"postings_segment_bytes"`
	// Queries: 10 s positives under scaleConditions, and every negative.
	Positives         int     `json:"positives"`
	Recall            float64 `json:"recall"`
	WrongWorkRate     float64 `json:"wrong_work_rate"`
	Negatives         int     `json:"negatives"`
	FalsePositiveRate float64 `json:"false_positive_rate"`
	MatchP50MS        float64 `json:"match_latency_p50_ms"`
	MatchP99MS        float64 `json:"match_latency_p99_ms"`
	// Match latency (from the query's print to the answer) of positives
	// and negatives, Config.Workers queries at a time and one at a time;
	// the print's own extraction time (decode and peaks, one at a time).
	PosP50MS       float64 `json:"match_latency_positive_p50_ms"`
	PosP99MS       float64 `json:"match_latency_positive_p99_ms"`
	NegP50MS       float64 `json:"match_latency_negative_p50_ms"`
	NegP99MS       float64 `json:"match_latency_negative_p99_ms"`
	SerialPosP50MS float64 `json:"serial_match_latency_positive_p50_ms"`
	SerialPosP99MS float64 `json:"serial_match_latency_positive_p99_ms"`
	SerialNegP50MS float64 `json:"serial_match_latency_negative_p50_ms"`
	SerialNegP99MS float64 `json:"serial_match_latency_negative_p99_ms"`
	ExtractP50MS   float64 `json:"extract_latency_p50_ms"`
	// KeysPerQuery and PostingsPerQuery are the mean index reads of a
	// query (match.QueryStats).
	KeysPerQuery     float64 `json:"keys_per_query"`
	PostingsPerQuery float64 `json:"postings_per_query"`
	// StopKeysPerQuery and StopPostingsPerQuery are the mean stop keys a
	// query skipped (match.Params.MaxKeyPostings) and the postings they
	// held.
	StopKeysPerQuery     float64 `json:"stop_keys_per_query"`
	StopPostingsPerQuery float64 `json:"stop_postings_per_query"`
	// FalseMatches describes every segment a negative query returned.
	FalseMatches  []string `json:"false_matches,omitempty"`
	PeakRSSBuildB int64    `json:"peak_rss_build_bytes"`
	PeakRSSMatchB int64    `json:"peak_rss_match_bytes"`
	// Keys describes how the step's audio keys spread its postings.
	Keys index.KeyFamilies `json:"keys"`
}

// scaleConditions are the conditions whose 10 s queries are run at every
// scale step: the clean case, a hard codec, noise and a speed change (the
// searches that touch the most postings).
var scaleConditions = []string{"clean", "mp3-32k", "white-5dB", "white-10dB", "speed-0.95", "speed-1.05"}

// scaleMaxPositives and scaleMaxNegatives bound the queries of a scale step.
const (
	scaleMaxPositives = 36
	scaleMaxNegatives = 200
)

// every returns at most n of qs, evenly spread.
func every(qs []eval.Query, n int) []eval.Query {
	if len(qs) <= n {
		return qs
	}
	out := make([]eval.Query, 0, n)
	for i := range n {
		out = append(out, qs[i*len(qs)/n])
	}
	return out
}

// ScaleSizes returns the catalogue sizes of a scale simulation up to n
// works: 10,000, 100,000 and 1,000,000 where not above n, and n itself.
func ScaleSizes(n int) []int { return stepsUpTo([]int{10_000, 100_000, 1_000_000}, n) }

// stepsUpTo returns the steps below n, then n.
func stepsUpTo[T int | float64](steps []T, n T) []T {
	var out []T
	for _, s := range steps {
		if s < n {
			out = append(out, s)
		}
	}
	return append(out, n)
}

// synth makes synthetic prints with the real statistics of music: each is
// a sequence of chunks (1 to 3 s) of real prints, each chunk turned upside
// down in pitch (every interval reversed: a rising fifth becomes a falling
// one), transposed by 8 to 24 hash steps (2.7 to 8 semitones) up or down
// and stretched or squeezed by 10 to 25 %. A chunk keeps its source's peak
// density, pitch spread and interval sizes (the keys' pitch and time
// fields see real music), but reversed intervals make it a new print that
// never aligns with its source, at any speed or transposition the matcher
// searches. Prints are a pure function of the seed and the index, so the
// generator is safe for concurrent use.
type synth struct {
	src      [][]fingerprint.Peak
	frames   float64 // length of a synthetic work; 0: real lengths (lengthOf)
	seed     uint64
	step     float64 // hash quantisation step, semitones
	maxPitch float32
	fps      float64 // frames a second
}

func newSynth(src [][]fingerprint.Peak, p fingerprint.AudioParams, seconds float64, seed uint64) *synth {
	var keep [][]fingerprint.Peak
	for _, s := range src {
		if len(s) > 100 {
			keep = append(keep, s)
		}
	}
	fps := 1 / p.FrameDuration()
	return &synth{src: keep, frames: seconds * fps, seed: seed, step: p.FreqStepSemitones,
		maxPitch: float32(12 * math.Log2(p.MaxFreqHz/p.MinFreqHz)), fps: fps}
}

// Real-length synthetic works last realMedianSeconds times e^(realSigma
// N(0,1)), within [60 s, 15 min]: a mean of 4 minutes, the length of a
// recording in a CMO's repertoire.
const (
	realMedianSeconds = 225
	realSigma         = 0.35
)

// lengthOf returns the length of synthetic work i, in frames.
func (s *synth) lengthOf(i int) float64 {
	if s.frames > 0 {
		return s.frames
	}
	rng := rand.New(rand.NewPCG(s.seed^0x5eed1e, uint64(i)))
	return min(900, max(60, realMedianSeconds*math.Exp(realSigma*rng.NormFloat64()))) * s.fps
}

// peaks returns synthetic print i.
func (s *synth) peaks(i int) []fingerprint.Peak {
	rng := rand.New(rand.NewPCG(s.seed, uint64(i)))
	frames := s.lengthOf(i)
	out := make([]fingerprint.Peak, 0, int(frames/s.fps*45))
	t := 0.0
	for t < frames {
		length := (1 + 2*rng.Float64()) * s.fps
		src := s.src[rng.IntN(len(s.src))]
		scale := 1.1 + 0.15*rng.Float64()
		if rng.IntN(2) == 0 {
			scale = 1 / scale
		}
		shift := float32(8+rng.IntN(17)) * float32(s.step)
		if rng.IntN(2) == 0 {
			shift = -shift
		}
		srcLen := length / scale
		last := float64(src[len(src)-1].Time)
		from := rng.Float64() * math.Max(0, last-srcLen)
		k := sort.Search(len(src), func(j int) bool { return float64(src[j].Time) >= from })
		for ; k < len(src) && float64(src[k].Time) < from+srcLen; k++ {
			pk := src[k]
			pk.Pitch = s.maxPitch - pk.Pitch + shift
			if pk.Pitch < 0 || pk.Pitch > s.maxPitch {
				continue
			}
			pk.Time = float32(t + (float64(pk.Time)-from)*scale)
			if pk.Time >= float32(frames) {
				break
			}
			out = append(out, pk)
		}
		t += length
	}
	return out
}

// scaleSource is the BuildSource of one scale step: the registered
// references first (with their benchmark IDs), then synthetic works.
type scaleSource struct {
	real  []index.Work
	peaks [][]fingerprint.Peak
	syn   *synth
	n     int
}

func (s *scaleSource) Len() int { return s.n }

func (s *scaleSource) Work(_ context.Context, i int) (index.Work, []fingerprint.Peak, error) {
	if i < len(s.real) {
		return s.real[i], slices.Clone(s.peaks[i]), nil
	}
	return index.Work{ID: fmt.Sprintf("synthetic-%07d", i-len(s.real)), DurationS: s.syn.lengthOf(i-len(s.real)) / s.syn.fps},
		s.syn.peaks(i - len(s.real)), nil
}

// runScale runs the scale simulation: for each size, a fresh store of the
// references plus synthetic works, the scale queries and negatives.
func runScale(ctx context.Context, cfg Config, dir string, p fingerprint.AudioParams, real []index.Work, peaks [][]fingerprint.Peak,
	realHours float64, qs []eval.Query, logf func(string, ...any)) ([]ScaleStep, error) {
	// A fixed sample of the queries (every k-th), so that the 1,000,000
	// step, where one query reads a large share of the store, fits the
	// time budget.
	var pos, neg []eval.Query
	for _, q := range qs {
		switch {
		case q.WorkID == "":
			neg = append(neg, q)
		case q.Excerpt.LengthS == 10 && slices.Contains(scaleConditions, q.Cond.Name):
			pos = append(pos, q)
		}
	}
	sel := append(every(pos, scaleMaxPositives), every(neg, scaleMaxNegatives)...)
	syn := newSynth(peaks, p, cfg.ScaleWorkSeconds, cfg.Seed)
	sizes := ScaleSizes(cfg.Scale)
	if cfg.ScaleHours > 0 {
		sizes = syn.sizesForHours(len(real), realHours, ScaleHourSteps(cfg.ScaleHours))
	}
	// hoursOf[n] is the hours of the first n synthetic works.
	hoursOf := []float64{0}
	for i := range slices.Max(sizes) - len(real) {
		hoursOf = append(hoursOf, hoursOf[i]+syn.lengthOf(i)/syn.fps/3600)
	}
	var steps []ScaleStep
	for _, size := range sizes {
		if size <= len(real) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return steps, err
		}
		src := &scaleSource{real: real, peaks: peaks, syn: syn, n: size}
		st := ScaleStep{Works: size, RealWorks: len(real), SyntheticWorks: size - len(real),
			Hours: realHours + hoursOf[size-len(real)]}
		logf("scale %d works (%.0f h): building", size, st.Hours)
		resetPeakRSS()
		t0 := time.Now()
		lastLog := time.Now()
		bs, err := index.Build(ctx, dir, index.Options{Params: p}, src, index.BuildOptions{
			Workers: cfg.Workers,
			Progress: func(done int) {
				if time.Since(lastLog) > 30*time.Second {
					lastLog = time.Now()
					logf("  hashed %d of %d works", done, size)
				}
			}})
		if err != nil {
			return steps, err
		}
		st.BuildSeconds = time.Since(t0).Seconds()
		st.HashSeconds, st.LoadSeconds = bs.HashTime.Seconds(), bs.LoadTime.Seconds()
		st.Postings = bs.Postings
		st.PeakRSSBuildB = peakRSS()
		st.StoreBytes = index.DirSize(dir)
		st.BytesPerHour = float64(st.StoreBytes) / st.Hours
		logf("  built in %.0f s (hash %.0f s, load %.0f s): %d postings, %.2f GB", st.BuildSeconds, st.HashSeconds, st.LoadSeconds,
			st.Postings, float64(st.StoreBytes)/1e9)

		store, err := index.Open(ctx, dir, index.Options{Params: p})
		if err != nil {
			return steps, err
		}
		if st.Keys, err = store.KeyStats(ctx); err != nil {
			store.Close()
			return steps, err
		}
		t0 = time.Now()
		st.WarmHashes, err = store.LoadPostings(ctx)
		if err != nil {
			store.Close()
			return steps, err
		}
		st.SegmentBytes = store.Stats().SegmentBytes
		st.WarmSeconds = time.Since(t0).Seconds()
		m, err := match.New(store, match.DefaultParams(), nil)
		if err != nil {
			store.Close()
			return steps, err
		}
		resetPeakRSS()
		outs := eval.Run(ctx, m, p, sel, cfg.Workers)
		var done func()
		if cfg.QueryHook != nil && size == sizes[len(sizes)-1] {
			done = cfg.QueryHook() // the largest step's one-at-a-time queries
		}
		serial := eval.Run(ctx, m, p, sel, 1)
		if done != nil {
			done()
		}
		st.PeakRSSMatchB = peakRSS()
		if err := store.Close(); err != nil {
			return steps, err
		}
		st.latencies(outs, serial)
		var pos, neg []eval.Outcome
		var lat []float64
		for _, o := range outs {
			if o.Err != nil {
				return steps, fmt.Errorf("scale %d: query %s: %w", size, o.Query.Excerpt.Path, o.Err)
			}
			lat = append(lat, o.LatencyMatch.Seconds()*1000)
			if o.Query.WorkID == "" {
				neg = append(neg, o)
				for _, sg := range o.Segments {
					st.FalseMatches = append(st.FalseMatches, fmt.Sprintf("%s %s@%.1fs -> %s (score %d, confidence %.3f, speed %.3f)",
						o.Query.Kind, o.Query.Excerpt.Path, o.Query.Excerpt.StartS, sg.Work.ID, sg.Score, sg.Confidence, sg.Speed))
				}
			} else {
				pos = append(pos, o)
			}
		}
		ps := eval.Summarize(pos, func(eval.Outcome) string { return "all" })
		ns := eval.Summarize(neg, func(eval.Outcome) string { return "all" })
		if len(ps) == 1 {
			st.Positives, st.Recall, st.WrongWorkRate = ps[0].Queries, ps[0].Recall, ps[0].WrongWorkRate
		}
		if len(ns) == 1 {
			st.Negatives, st.FalsePositiveRate = ns[0].Queries, ns[0].FalsePositiveRate
		}
		st.MatchP50MS, st.MatchP99MS = eval.Quantile(lat, 0.5), eval.Quantile(lat, 0.99)
		logf("  recall %.3f (%d queries), false positives %.3f (%d), match p50 %.0f ms p99 %.0f ms",
			st.Recall, st.Positives, st.FalsePositiveRate, st.Negatives, st.MatchP50MS, st.MatchP99MS)
		for _, f := range st.FalseMatches {
			logf("  false match: %s", f)
		}
		steps = append(steps, st)
	}
	return steps, os.RemoveAll(dir)
}

// latencies fills the step's latency and cost figures from its queries
// run Config.Workers at a time (outs) and one at a time (serial).
func (st *ScaleStep) latencies(outs, serial []eval.Outcome) {
	split := func(os []eval.Outcome) (pos, neg []float64) {
		for _, o := range os {
			ms := o.LatencyMatch.Seconds() * 1000
			if o.Query.WorkID == "" {
				neg = append(neg, ms)
			} else {
				pos = append(pos, ms)
			}
		}
		return pos, neg
	}
	pos, neg := split(outs)
	st.PosP50MS, st.PosP99MS = eval.Quantile(pos, 0.5), eval.Quantile(pos, 0.99)
	st.NegP50MS, st.NegP99MS = eval.Quantile(neg, 0.5), eval.Quantile(neg, 0.99)
	pos, neg = split(serial)
	st.SerialPosP50MS, st.SerialPosP99MS = eval.Quantile(pos, 0.5), eval.Quantile(pos, 0.99)
	st.SerialNegP50MS, st.SerialNegP99MS = eval.Quantile(neg, 0.5), eval.Quantile(neg, 0.99)
	var extract []float64
	for _, o := range serial {
		extract = append(extract, (o.Latency-o.LatencyMatch).Seconds()*1000)
		st.KeysPerQuery += float64(o.KeysLookedUp) / float64(len(serial))
		st.PostingsPerQuery += float64(o.PostingsRead) / float64(len(serial))
		st.StopKeysPerQuery += float64(o.KeysDropped) / float64(len(serial))
		st.StopPostingsPerQuery += float64(o.PostingsDropped) / float64(len(serial))
	}
	st.ExtractP50MS = eval.Quantile(extract, 0.5)
}

// ScaleHourSteps returns the catalogue sizes, in hours, of a scale
// simulation up to h: 1,000, 10,000 and 66,700 (a million four-minute
// recordings) where below h, and h itself.
func ScaleHourSteps(h float64) []float64 { return stepsUpTo([]float64{1_000, 10_000, 66_700}, h) }

// sizesForHours returns, for each target in hours, the number of works
// (the references, then synthetic works) that first reaches it.
func (s *synth) sizesForHours(real int, realHours float64, targets []float64) []int {
	var out []int
	h, n := realHours, 0
	for _, target := range targets {
		for h < target {
			h += s.lengthOf(n) / s.fps / 3600
			n++
		}
		out = append(out, real+n)
	}
	return out
}

// QuickScaleWorks is the size of the scale step of a quick run (CI): the
// whole path, build to queries, in seconds.
const QuickScaleWorks = 2000

// DefaultScaleWorkSeconds is the length of a synthetic work of the scale
// simulation.
const DefaultScaleWorkSeconds = 10
