// Package eval measures identification accuracy: it renders queries
// (package degrade), runs them through the same extract-and-match path as
// `cueprint match`, and scores the answers.
//
// Scoring follows the product's promise. A positive query is correct when
// the best-scoring segment names the right work and puts the query's first
// sample within OffsetToleranceS of where the excerpt really starts in the
// work (reference start minus query start times speed). It is wrong-work
// when the best segment names another work. When the right work is named
// at another offset where the work itself repeats the passage (verified
// on its stored print: looped game music does), the answer counts as
// correct and is flagged Repeat. A negative query (unregistered
// music, speech, noise, silence) is a false positive when anything at all
// is returned.
package eval

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/match"
)

// OffsetToleranceS is how far the reported start may be from the truth.
const OffsetToleranceS = 0.2

// Query is one query to run.
type Query struct {
	// WorkID is the registered work the query comes from; "" for a
	// negative query.
	WorkID string
	// Kind groups negatives in reports: "music", "speech", "noise",
	// "silence"; "positive" for positives.
	Kind string
	// Excerpt and Cond say how to render it; Mix is the second recording
	// for mix conditions.
	Excerpt degrade.Excerpt
	Cond    degrade.Condition
	Mix     *degrade.Excerpt
	Seed    uint64
	// Media, when set, is used as the query as it is (generated signals)
	// and Excerpt/Cond only describe it.
	Media []byte
}

// Outcome is a query's result.
type Outcome struct {
	Query    Query
	Segments []match.Segment
	// Matched: anything was returned. Correct/WrongWork: see the package doc.
	Matched, Correct, WrongWork bool
	// Repeat: the right work at another offset where the work itself
	// repeats the passage (verified on its stored print); counted correct.
	Repeat bool
	// OffsetErrS and SpeedErr are those of the best segment when it names
	// the right work.
	OffsetErrS, SpeedErr float64
	// Latency is the extract+match time, LatencyMatch the match alone.
	Latency, LatencyMatch time.Duration
	// KeysLookedUp and PostingsRead are what the match read from the
	// index (match.QueryStats).
	KeysLookedUp, PostingsRead int64
	// KeysDropped and PostingsDropped are the stop keys it skipped.
	KeysDropped, PostingsDropped int64
	Err                          error
}

// Run renders and matches the queries with the given parallelism (0 means
// one worker per core) and returns outcomes in query order.
func Run(ctx context.Context, m *match.Matcher, p fingerprint.AudioParams, qs []Query, workers int) []Outcome {
	return RunProgress(ctx, m, p, qs, workers, nil)
}

// RunProgress is Run calling done (if not nil, from any worker) with the
// number of queries answered so far, after each.
func RunProgress(ctx context.Context, m *match.Matcher, p fingerprint.AudioParams, qs []Query, workers int, done func(n int)) []Outcome {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	out := make([]Outcome, len(qs))
	var wg sync.WaitGroup
	var answered atomic.Int64
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = runOne(ctx, m, p, qs[i])
				if done != nil {
					done(int(answered.Add(1)))
				}
			}
		}()
	}
	for i := range qs {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return out
}

func runOne(ctx context.Context, m *match.Matcher, p fingerprint.AudioParams, q Query) Outcome {
	o := Outcome{Query: q}
	data := q.Media
	if data == nil {
		var err error
		data, _, err = degrade.Render(ctx, q.Excerpt, q.Cond, q.Seed, q.Mix)
		if err != nil {
			o.Err = fmt.Errorf("render %s@%.1f %s: %w", q.Excerpt.Path, q.Excerpt.StartS, q.Cond.Name, err)
			return o
		}
	}
	start := time.Now()
	ap, err := fingerprint.ExtractReader(ctx, bytes.NewReader(data), q.Cond.Name, p, fingerprint.QueryOptions())
	if err != nil && !fingerprint.IsNoContent(err) {
		o.Err = err
		return o
	}
	if err == nil {
		ms := time.Now()
		var st match.QueryStats
		o.Segments, err = m.Match(match.WithStats(ctx, &st), ap)
		o.LatencyMatch = time.Since(ms)
		o.KeysLookedUp, o.PostingsRead = st.KeysLookedUp.Load(), st.PostingsRead.Load()
		o.KeysDropped, o.PostingsDropped = st.KeysDropped.Load(), st.PostingsDropped.Load()
		if err != nil {
			o.Err = err
			return o
		}
	}
	o.Latency = time.Since(start)
	o.Matched = len(o.Segments) > 0
	if !o.Matched || q.WorkID == "" {
		return o
	}
	best := slices.MaxFunc(o.Segments, func(a, b match.Segment) int { return a.Score - b.Score })
	if best.Work.ID != q.WorkID {
		o.WrongWork = true
		return o
	}
	speed := q.Cond.Speed
	if speed == 0 {
		speed = 1
	}
	refAtQueryStart := best.RefStart - best.QueryStart*best.Speed
	o.OffsetErrS = math.Abs(refAtQueryStart - q.Excerpt.StartS)
	o.SpeedErr = math.Abs(best.Speed - speed)
	o.Correct = o.OffsetErrS <= OffsetToleranceS
	if !o.Correct && isRepeat(m, best, q.Excerpt.StartS, refAtQueryStart, q.Excerpt.LengthS*speed) {
		o.Repeat, o.Correct = true, true
	}
	return o
}

// repeatShare is the share of a work's landmarks in the true passage that
// must recur at the reported offset for the answer to count as a repeat.
const repeatShare = 0.25

// isRepeat reports whether the work's own print repeats the passage
// [trueS, trueS+lengthS) at gotS: enough of its landmarks recur there, at
// the same relative times (within two frames).
func isRepeat(m *match.Matcher, s match.Segment, trueS, gotS, lengthS float64) bool {
	peaks, err := m.Store().Peaks(s.Work.Num)
	if err != nil {
		return false
	}
	p := m.Store().Params()
	fd := p.FrameDuration()
	shift := (gotS - trueS) / fd
	at := map[uint32][]float32{}
	var inTrue []fingerprint.Landmark
	for _, lm := range p.Landmarks(peaks) {
		t := float64(lm.Time) * fd
		if t >= gotS && t < gotS+lengthS {
			at[lm.Hash] = append(at[lm.Hash], lm.Time)
		}
		if t >= trueS && t < trueS+lengthS {
			inTrue = append(inTrue, lm)
		}
	}
	if len(inTrue) == 0 {
		return false
	}
	n := 0
	for _, lm := range inTrue {
		for _, t := range at[lm.Hash] {
			if math.Abs(float64(t)-float64(lm.Time)-shift) <= 2 {
				n++
				break
			}
		}
	}
	return float64(n)/float64(len(inTrue)) >= repeatShare
}

// Stats summarise the outcomes of one group of queries.
type Stats struct {
	Group                  string  `json:"group"`
	Queries                int     `json:"queries"`
	Errors                 int     `json:"errors"`
	Recall                 float64 `json:"recall"`
	WrongWorkRate          float64 `json:"wrong_work_rate"`
	OffsetErrMedianS       float64 `json:"offset_err_median_s"`
	OffsetErrP95S          float64 `json:"offset_err_p95_s"`
	SpeedErrMedian         float64 `json:"speed_err_median"`
	FalsePositiveRate      float64 `json:"false_positive_rate"`
	LatencyMedianMS        float64 `json:"latency_median_ms"`
	LatencyP99MS           float64 `json:"latency_p99_ms"`
	RepeatRate             float64 `json:"repeat_rate"`
	MatchLatencyMedianMS   float64 `json:"match_latency_median_ms"`
	MatchLatencyP99MS      float64 `json:"match_latency_p99_ms"`
	positives, negatives   int
	correct, wrong, falseP int
}

// Summarize groups outcomes by key and computes each group's stats, in
// key order.
func Summarize(outs []Outcome, key func(Outcome) string) []Stats {
	groups := map[string][]Outcome{}
	for _, o := range outs {
		k := key(o)
		groups[k] = append(groups[k], o)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var res []Stats
	for _, k := range keys {
		res = append(res, summarize(k, groups[k]))
	}
	return res
}

func summarize(name string, outs []Outcome) Stats {
	s := Stats{Group: name, Queries: len(outs)}
	var offs, speeds, lat, mlat []float64
	for _, o := range outs {
		if o.Err != nil {
			s.Errors++
		}
		lat = append(lat, o.Latency.Seconds()*1000)
		mlat = append(mlat, o.LatencyMatch.Seconds()*1000)
		if o.Query.WorkID == "" {
			s.negatives++
			if o.Matched {
				s.falseP++
			}
			continue
		}
		s.positives++
		if o.Correct {
			s.correct++
		}
		if o.Repeat {
			s.RepeatRate++
		}
		if o.WrongWork {
			s.wrong++
		}
		if o.Matched && !o.WrongWork {
			offs = append(offs, o.OffsetErrS)
			speeds = append(speeds, o.SpeedErr)
		}
	}
	if s.positives > 0 {
		s.Recall = float64(s.correct) / float64(s.positives)
		s.WrongWorkRate = float64(s.wrong) / float64(s.positives)
		s.RepeatRate /= float64(s.positives)
	}
	if s.negatives > 0 {
		s.FalsePositiveRate = float64(s.falseP) / float64(s.negatives)
	}
	s.OffsetErrMedianS = Quantile(offs, 0.5)
	s.OffsetErrP95S = Quantile(offs, 0.95)
	s.SpeedErrMedian = Quantile(speeds, 0.5)
	s.LatencyMedianMS = Quantile(lat, 0.5)
	s.LatencyP99MS = Quantile(lat, 0.99)
	s.MatchLatencyMedianMS = Quantile(mlat, 0.5)
	s.MatchLatencyP99MS = Quantile(mlat, 0.99)
	return s
}

// Quantile returns the q-quantile of xs (nearest rank), 0 for none.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(len(s)-1, i))]
}
