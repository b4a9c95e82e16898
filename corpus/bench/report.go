package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/corpus/eval"
	"github.com/cueprint/cueprint/index"
)

// Write writes results.json, results.md and the charts into dir.
func (r *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	charts, err := r.charts()
	if err != nil {
		return err
	}
	for name, svg := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.Markdown()), 0o644)
}

func (r *Results) stat(cond string, length float64) (eval.Stats, bool) {
	key := cond + "/" + strconv.FormatFloat(length, 'f', -1, 64) + "s"
	for _, s := range r.Positives {
		if s.Group == key {
			return s, true
		}
	}
	return eval.Stats{}, false
}

// Markdown renders the results as tables.
func (r *Results) Markdown() string {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "# cueprint benchmark (%s)\n\n", mode)
	fmt.Fprintf(&b, "%s, seed %d, %d cores, %s. %d references: %d registered, the rest are negatives.\n\n",
		r.Started.Format("2006-01-02 15:04 UTC"), r.Seed, r.Cores, r.GoVersion, r.References, r.Registered)
	if r.PerRef > 1 {
		fmt.Fprintf(&b, "%d excerpts per registered reference, condition and length.\n\n", r.PerRef)
	}
	b.WriteString("## Top-1 recall by condition and query length\n\n")
	b.WriteString("Right work and reference offset within 0.2 s. In brackets: wrong-work rate where not 0.\n\n| condition |")
	for _, l := range r.Lengths {
		fmt.Fprintf(&b, " %gs |", l)
	}
	b.WriteString(" offset err p50 / p95 (10 s) | speed err p50 (10 s) |\n|---|")
	for range r.Lengths {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	for _, c := range r.Conditions {
		fmt.Fprintf(&b, "| %s |", c.Name)
		for _, l := range r.Lengths {
			s, ok := r.stat(c.Name, l)
			if !ok {
				b.WriteString(" - |")
				continue
			}
			fmt.Fprintf(&b, " %.2f", s.Recall)
			if s.WrongWorkRate > 0 {
				fmt.Fprintf(&b, " (%.2f)", s.WrongWorkRate)
			}
			b.WriteString(" |")
		}
		if s, ok := r.stat(c.Name, 10); ok {
			fmt.Fprintf(&b, " %.3f / %.3f s | %.4f |\n", s.OffsetErrMedianS, s.OffsetErrP95S, s.SpeedErrMedian)
		} else {
			b.WriteString(" - | - |\n")
		}
	}
	b.WriteString("\n## Negative queries (10 s): share that matched anything\n\n| kind | queries | matched |\n|---|---|---|\n")
	for _, s := range r.Negatives {
		fmt.Fprintf(&b, "| %s | %d | %.3f (%d) |\n", s.Group, s.Queries, s.FalsePositiveRate, int(math.Round(s.FalsePositiveRate*float64(s.Queries))))
	}
	c := r.Cost
	b.WriteString("\n## Cost\n\n| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| fingerprinting throughput (decode+resample+extract, 1 core) | %.0fx real time |\n", c.FingerprintXRT)
	fmt.Fprintf(&b, "| FFmpeg decode-only throughput, same files | %.0fx real time |\n", c.DecodeOnlyXRT)
	fmt.Fprintf(&b, "| ratio (fingerprinting / decode-only) | %.2f |\n", c.Ratio)
	fmt.Fprintf(&b, "| store, compacted | %d works, %.2f h, %.1f MB, %.2f MB per hour |\n", c.RegisteredWorks, c.StoreHours, float64(c.StoreBytes)/1e6, c.BytesPerHour/1e6)
	if c.StoreBytesAsRegistered > 0 && c.StoreHours > 0 {
		fmt.Fprintf(&b, "| store, as registered one by one | %.1f MB, %.2f MB per hour |\n", float64(c.StoreBytesAsRegistered)/1e6, float64(c.StoreBytesAsRegistered)/1e6/c.StoreHours)
	}
	fmt.Fprintf(&b, "| postings preload (once, at start) | %.1f s |\n", c.WarmSeconds)
	fmt.Fprintf(&b, "| match latency, all queries, p50 / p99 | %.1f / %.1f ms |\n", c.MatchP50MS, c.MatchP99MS)
	fmt.Fprintf(&b, "| match latency, 10 s positive queries, p50 | %.1f ms |\n", c.Match10sP50MS)
	fmt.Fprintf(&b, "| match latency one query at a time (%d of the 10 s queries), p50: positives / all | %.1f / %.1f ms |\n",
		c.SerialQueries, c.Serial10sPosP50MS, c.Serial10sAllP50MS)
	fmt.Fprintf(&b, "| query latency (extract + match), 10 s, p50 | %.1f ms |\n", c.Query10sP50MS)
	fmt.Fprintf(&b, "| peak RSS while registering / matching | %.0f / %.0f MB |\n", float64(c.PeakRSSRegisterB)/1e6, float64(c.PeakRSSMatchB)/1e6)
	fmt.Fprintf(&b, "| registration wall time | %.1f s |\n", c.RegisterSeconds)
	if c.Keys.Pairs.Keys > 0 {
		b.WriteString("\n## Index keys\n\nHow each family of audio keys spreads the store's postings: a lookup meets on average postings x 2^-(collision bits) of them, the key's effective selectivity; entropy cannot exceed log2(postings) on a small store.\n\n")
		b.WriteString(keysTable([]string{"store"}, []index.KeyFamilies{c.Keys}))
	}
	if len(r.Scale) > 0 {
		if r.ScaleWorkSeconds > 0 {
			fmt.Fprintf(&b, "\n## Scale: the store grown with synthetic works (%g s each)\n\n", r.ScaleWorkSeconds)
		} else {
			b.WriteString("\n## Scale: the store grown with synthetic works of real length (mean 4 minutes)\n\n")
		}
		b.WriteString("10 s queries under " + strings.Join(scaleConditions, ", ") + ", and every negative, against a store of the references plus synthetic prints with real statistics, bulk-built.\n\n")
		b.WriteString("| works | hours | postings | store | MB/h | build | recall | wrong | false pos. | match p50 / p99 | peak RSS build / match |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, st := range r.Scale {
			fmt.Fprintf(&b, "| %d | %.0f | %.2fG | %.2f GB | %.2f | %.0f s | %.3f (%d) | %.3f | %.3f (%d) | %.0f / %.0f ms | %.0f / %.0f MB |\n",
				st.Works, st.Hours, float64(st.Postings)/1e9, float64(st.StoreBytes)/1e9, st.BytesPerHour/1e6, st.BuildSeconds,
				st.Recall, st.Positives, st.WrongWorkRate, st.FalsePositiveRate, st.Negatives, st.MatchP50MS, st.MatchP99MS,
				float64(st.PeakRSSBuildB)/1e6, float64(st.PeakRSSMatchB)/1e6)
		}
	}
	if len(r.Scale) > 0 {
		fmt.Fprintf(&b, "\nMatch latency at each step, from the query's print to the answer (positives and negatives apart; %d at a time, then one at a time), the index reads of a query, and the print's own extraction time:\n\n", max(r.Cores, 1))
		b.WriteString("| works | hours | keys / postings read per query | stop keys / their postings | positives p50 / p99 | negatives p50 / p99 | one at a time: positives | negatives | extraction p50 |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, st := range r.Scale {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f / %.0f | %.1f / %.0f | %.0f / %.0f ms | %.0f / %.0f ms | %.0f / %.0f ms | %.0f / %.0f ms | %.0f ms |\n",
				st.Works, st.Hours, st.KeysPerQuery, st.PostingsPerQuery, st.StopKeysPerQuery, st.StopPostingsPerQuery, st.PosP50MS, st.PosP99MS, st.NegP50MS, st.NegP99MS,
				st.SerialPosP50MS, st.SerialPosP99MS, st.SerialNegP50MS, st.SerialNegP99MS, st.ExtractP50MS)
		}
	}
	if len(r.Scale) > 0 && r.Scale[0].Keys.Pairs.Keys > 0 {
		b.WriteString("\nIndex keys at each scale step:\n\n")
		var names []string
		var ks []index.KeyFamilies
		for _, st := range r.Scale {
			names = append(names, fmt.Sprintf("%d works", st.Works))
			ks = append(ks, st.Keys)
		}
		b.WriteString(keysTable(names, ks))
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\nSkipped references:\n\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\n%d queries counted against cueprint (missed or wrong positives, answered negatives) are listed in `results.json` (`failures`), with what came back.\n", len(r.Failures))
	}
	if names := r.ChartNames(); len(names) > 0 {
		what := map[string]string{
			"recall_snr.svg":   "recall against SNR per noise kind and length",
			"recall_speed.svg": "against speed, tempo-only and pitch-only ratio",
			"scale.svg":        "match latency and recall against catalogue size",
		}
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("`%s` (%s)", n, what[n]))
		}
		b.WriteString("\nCharts: " + strings.Join(parts, ", ") + ".\n")
	}
	return b.String()
}

// keysTable renders key statistics, one row per store and key family.
func keysTable(names []string, ks []index.KeyFamilies) string {
	var b strings.Builder
	b.WriteString("| store | keys | distinct | postings | per key mean / p99 / max | entropy | collision (effective) bits |\n|---|---|---|---|---|---|---|\n")
	for i, k := range ks {
		for _, f := range []struct {
			name string
			st   index.KeyStats
		}{{"pair hashes", k.Pairs}, {"triplets", k.Triplets}} {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %.1f / %d / %d | %.1f bits | %.1f bits |\n", names[i], f.name, f.st.Keys, f.st.Postings,
				f.st.Mean, f.st.P99, f.st.Max, f.st.EntropyBits, f.st.CollisionBits)
		}
	}
	return b.String()
}
