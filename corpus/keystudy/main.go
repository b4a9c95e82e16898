// Command keystudy measures candidate designs of index keys on real music:
// how selective each is (the collision entropy of its postings between
// different works) and how many of a query's keys still find their
// reference under the benchmark's conditions (noise, codecs, other music,
// speed, tempo and pitch changes). It is a study, not a benchmark of the
// product: the designs live here, not in package fingerprint.
//
//	CUEPRINT_MEDIA_LIST=.cache/set_A.tsv go run ./corpus/keystudy [-n 16] [-designs a,b]
//
// A design pairs each anchor peak with n-1 later peaks of its target zone
// (the zone of fingerprint's pairs, peaks at least half a semitone apart),
// keyed by the pitch differences from the anchor, the ratios of the time
// differences, and the span's band: every field unchanged by a speed,
// tempo or pitch change. A reference writes refKeys keys per anchor (the
// strongest combinations); a query looks up every combination of its
// qTop strongest targets, with neighbouring levels near a quantisation
// boundary. For each condition and length it prints the median number of
// distinct reference keys a query finds at the right place, the share of
// queries finding at least 4 (what the triplet vote needs), and the median
// number of lookups.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
)

type key = uint64

// post is one reference key's posting.
type post struct {
	work int
	t    float32
}

// p are the print's parameters.
var p = fingerprint.DefaultAudioParams()

// zone returns the n strongest peaks of anchor i's target zone at least
// half a semitone from it, strongest first.
func zone(peaks []fingerprint.Peak, i, n int) []int {
	var best []int
	a := peaks[i]
	for j := i + 1; j < len(peaks); j++ {
		b := peaks[j]
		dt := b.Time - a.Time
		if dt < float32(p.MinDeltaFrames) {
			continue
		}
		if dt >= float32(p.MaxDeltaFrames) {
			break
		}
		dp := b.Pitch - a.Pitch
		if dp > 12 || dp < -12 || (dp < 0.5 && dp > -0.5) {
			continue
		}
		r := len(best)
		for r > 0 && b.Strength > peaks[best[r-1]].Strength {
			r--
		}
		if r < n {
			best = slices.Insert(best, r, j)
			if len(best) > n {
				best = best[:n]
			}
		}
	}
	return best
}

// apart reports whether the peaks are pairwise half a semitone and a
// frame apart.
func apart(peaks []fingerprint.Peak, idx ...int) bool {
	for x := range idx {
		for y := x + 1; y < len(idx); y++ {
			b, c := peaks[idx[x]], peaks[idx[y]]
			dp := b.Pitch - c.Pitch
			if dp < 0.5 && dp > -0.5 {
				return false
			}
			dt := b.Time - c.Time
			if dt < 1 && dt > -1 {
				return false
			}
		}
	}
	return true
}

// step is the print's pitch quantisation, semitones.
const step = 1.0 / 3

// soft returns the level of x*scale and its neighbour when within margin
// of a boundary.
func soft(x, scale, margin float64) []int {
	q := x * scale
	l := math.Floor(q)
	f := q - l
	if f < margin {
		return []int{int(l), int(l) - 1}
	}
	if f > 1-margin {
		return []int{int(l), int(l) + 1}
	}
	return []int{int(l)}
}

// bands is the number of span bands.
var bands = 4.0

// bandPos is the span's position on the band scale.
func bandPos(span float64) float64 {
	return math.Log(span/float64(p.MinDeltaFrames)) / math.Log(float64(p.MaxDeltaFrames)/float64(p.MinDeltaFrames)) * bands
}

// packQ packs a key's fields.
func packQ(ds []int, rs []int, band int) key {
	var k key
	for _, d := range ds {
		k = k<<8 | key(d&255)
	}
	for _, r := range rs {
		k = k<<7 | key(r&127)
	}
	return k<<3 | key(band)
}

// design is one key design: n peaks a key (3: a triplet, 4: a quad).
type design struct {
	name    string
	n       int     // targets a key (peaks - 1)
	refKeys int     // keys a reference anchor writes
	qTop    int     // strongest targets a query anchor combines
	ratioL  float64 // levels of a time ratio
	pstep   float64 // pitch difference step, semitones
	pmargin float64 // soft margin of a pitch level, in levels
}

// sortIdx returns the peak indexes in time order.
func sortIdx(peaks []fingerprint.Peak, idx []int) []int {
	out := slices.Clone(idx)
	sort.Slice(out, func(a, b int) bool { return peaks[out[a]].Time < peaks[out[b]].Time })
	return out
}

// fields emits the key(s) of anchor i with targets tg: one when soft is
// off (a reference), every neighbouring level and reachable band when on.
func fields(peaks []fingerprint.Peak, i int, tg []int, d design, softOn bool, reach float64, emit func(key, float32)) {
	tg = sortIdx(peaks, tg)
	a := peaks[i]
	last := peaks[tg[len(tg)-1]]
	span := float64(last.Time - a.Time)
	var dl [][]int
	for _, j := range tg {
		x := float64(peaks[j].Pitch-a.Pitch) + 12
		if softOn {
			dl = append(dl, soft(x, 1/d.pstep, d.pmargin))
		} else {
			dl = append(dl, []int{int(math.Floor(x / d.pstep))})
		}
	}
	var rl [][]int
	for _, j := range tg[:len(tg)-1] {
		x := float64(peaks[j].Time-a.Time) / span
		if softOn {
			rl = append(rl, soft(x, d.ratioL, 0.25))
		} else {
			rl = append(rl, []int{int(math.Floor(x * d.ratioL))})
		}
	}
	pos := bandPos(span)
	lo, hi := int(math.Floor(pos)), int(math.Floor(pos))
	if softOn {
		lo = max(0, int(math.Floor(pos-reach)))
		hi = min(int(bands)-1, int(math.Floor(pos+reach)))
	} else {
		lo = min(int(bands)-1, max(0, lo))
		hi = lo
	}
	all := append(slices.Clone(dl), rl...)
	cur := make([]int, len(all))
	var rec func(x int)
	rec = func(x int) {
		if x == len(all) {
			for b := lo; b <= hi; b++ {
				emit(packQ(cur[:len(dl)], cur[len(dl):], b), float32(span))
			}
			return
		}
		for _, v := range all[x] {
			cur[x] = v
			rec(x + 1)
		}
	}
	rec(0)
}

// timedKey is a key and its anchor's time.
type timedKey struct {
	k    key
	t    float32
	span float32
}

// eachCombo calls fn with every n-combination (in rank order) of the
// peaks best whose peaks are apart, until fn returns false.
func eachCombo(peaks []fingerprint.Peak, best []int, n int, fn func(idx []int) bool) {
	combos(len(best), n, func(c []int) bool {
		idx := make([]int, len(c))
		for x, v := range c {
			idx[x] = best[v]
		}
		if !apart(peaks, idx...) {
			return true
		}
		return fn(idx)
	})
}

// refKeys returns a reference's keys: for each anchor, the first refKeys
// combinations of its strongest targets (in rank order) that are apart.
func refKeys(peaks []fingerprint.Peak, d design) []timedKey {
	var out []timedKey
	for i := range peaks {
		made := 0
		eachCombo(peaks, zone(peaks, i, 8), d.n, func(idx []int) bool {
			fields(peaks, i, idx, d, false, 0, func(k key, span float32) {
				out = append(out, timedKey{k, peaks[i].Time, span})
			})
			made++
			return made < d.refKeys
		})
	}
	return out
}

// combos calls fn with every k-combination of 0..n-1 in lexicographic
// order until fn returns false.
func combos(n, k int, fn func([]int) bool) {
	c := make([]int, k)
	var rec func(start, x int) bool
	rec = func(start, x int) bool {
		if x == k {
			return fn(c)
		}
		for v := start; v < n; v++ {
			c[x] = v
			if !rec(v+1, x+1) {
				return false
			}
		}
		return true
	}
	rec(0, 0)
}

// queryKeys returns every key a query looks up.
func queryKeys(peaks []fingerprint.Peak, d design) []timedKey {
	var out []timedKey
	reach := math.Log(1.25) / math.Log(float64(p.MaxDeltaFrames)/float64(p.MinDeltaFrames)) * bands
	for i := range peaks {
		eachCombo(peaks, zone(peaks, i, d.qTop), d.n, func(idx []int) bool {
			fields(peaks, i, idx, d, true, reach, func(k key, span float32) {
				out = append(out, timedKey{k, peaks[i].Time, span})
			})
			return true
		})
	}
	return out
}

func main() {
	nq := flag.Int("n", 16, "queries per condition and length")
	only := flag.String("designs", "", "run only the designs whose names are listed (comma-separated)")
	flag.Parse()
	ctx := context.Background()
	list := os.Getenv("CUEPRINT_MEDIA_LIST")
	f, err := os.Open(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keystudy: no media list (set CUEPRINT_MEDIA_LIST to make deps' .cache/set_A.tsv):", err)
		os.Exit(2)
	}
	var tracks []string
	var durs []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 2)
		if len(parts) != 2 {
			continue
		}
		d, _ := strconv.ParseFloat(parts[0], 64)
		tracks = append(tracks, parts[1])
		durs = append(durs, d)
	}
	designs := []design{
		{"triplet", 2, 1, 5, 64, step, 0.2},
		{"triplet-fine", 2, 1, 5, 128, step / 2, 0.3},
		{"quad", 3, 1, 5, 32, step, 0.2},
		{"quad-fine", 3, 1, 5, 64, step / 2, 0.3},
		{"quad-2keys", 3, 2, 6, 32, step, 0.2},
		{"quad-2keys-fine", 3, 2, 6, 64, step / 2, 0.3},
		{"triplet-q7", 2, 1, 7, 64, step, 0.2},
		{"quad-fine-q7", 3, 1, 7, 64, step / 2, 0.3},
	}
	if *only != "" {
		names := strings.Split(*only, ",")
		designs = slices.DeleteFunc(designs, func(d design) bool { return !slices.Contains(names, d.name) })
	}
	var refs [][]fingerprint.Peak
	var okTracks []int
	for ti, t := range tracks {
		ap, err := fingerprint.ExtractFile(ctx, t, p, fingerprint.ExtractOptions{})
		if err != nil {
			continue
		}
		refs = append(refs, ap.Peaks)
		okTracks = append(okTracks, ti)
	}
	totalS := 0.0
	for _, ti := range okTracks {
		totalS += durs[ti]
	}
	fmt.Printf("refs %d, %.2f h\n", len(refs), totalS/3600)
	// index per design
	type idx = map[key][]post
	indexes := make([]idx, len(designs))
	for di, d := range designs {
		m := idx{}
		n := 0
		for w, pk := range refs {
			for _, rk := range refKeys(pk, d) {
				m[rk.k] = append(m[rk.k], post{w, rk.t})
				n++
			}
		}
		indexes[di] = m
		// cross-work collision bits
		var num, den float64
		perWork := make([]float64, len(refs))
		for _, ps := range m {
			c := map[int]float64{}
			for _, x := range ps {
				c[x.work]++
			}
			s := float64(len(ps))
			sq := 0.0
			for _, v := range c {
				sq += v * v
			}
			num += s*s - sq
		}
		for _, ps := range m {
			for _, x := range ps {
				perWork[x.work]++
			}
		}
		tot := float64(n)
		den = tot * tot
		for _, v := range perWork {
			den -= v * v
		}
		fmt.Printf("%-12s postings %d (%.1f/s) distinct %d crossbits %.1f\n", d.name, n, float64(n)/totalS, len(m), -math.Log2(num/den))
	}
	mp3 := &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 32000}
	conds := []degrade.Condition{
		{Name: "clean", Speed: 1},
		{Name: "mp3-32k", Codec: mp3, Speed: 1},
		{Name: "white-0dB", Noise: degrade.NoiseWhite, SNRdB: 0, Speed: 1},
		{Name: "pink-0dB", Noise: degrade.NoisePink, SNRdB: 0, Speed: 1},
		{Name: "music-0dB", Noise: degrade.NoiseMix, SNRdB: 0, Speed: 1},
		{Name: "music-5dB", Noise: degrade.NoiseMix, SNRdB: -5, Speed: 1},
		degrade.Speed(0.9), degrade.Speed(1.15), degrade.Tempo(1.1), degrade.Pitch(300), degrade.Phone(),
	}
	lengths := []float64{10, 3}
	for _, length := range lengths {
		fmt.Printf("\nlength %.0f s: median true hits / frac>=4 / lookups per query\n%-12s", length, "cond")
		for _, d := range designs {
			fmt.Printf(" | %-22s", d.name)
		}
		fmt.Println()
		for ci, c := range conds {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(length)))
			type res struct{ hits, looks []int }
			results := make([]res, len(designs))
			for di := range results {
				results[di] = res{make([]int, *nq), make([]int, *nq)}
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2)
			for qi := 0; qi < *nq; qi++ {
				w := rng.IntN(len(refs))
				ti := okTracks[w]
				start := rng.Float64() * (durs[ti] - length*1.2 - 1)
				var mix *degrade.Excerpt
				if c.Noise == degrade.NoiseMix {
					o := okTracks[(w+1+rng.IntN(len(refs)-1))%len(refs)]
					mix = &degrade.Excerpt{Path: tracks[o], StartS: rng.Float64() * (durs[o] - length*1.2 - 1), LengthS: length * 1.2}
				}
				seed := rng.Uint64()
				wg.Add(1)
				sem <- struct{}{}
				go func(qi, w int, start float64, mix *degrade.Excerpt, seed uint64) {
					defer wg.Done()
					defer func() { <-sem }()
					ex := degrade.Excerpt{Path: tracks[ti], StartS: start, LengthS: length}
					b, _, err := degrade.Render(ctx, ex, c, seed, mix)
					if err != nil {
						fmt.Println("render", err)
						return
					}
					ap, err := fingerprint.ExtractReader(ctx, bytes.NewReader(b), "q", p, fingerprint.QueryOptions())
					if err != nil {
						return
					}
					fps := float64(p.SampleRateHz) / float64(p.HopSamples)
					s0 := start * fps
					for di, d := range designs {
						qk := queryKeys(ap.Peaks, d)
						results[di].looks[qi] = len(qk)
						seen := map[float32]bool{}
						for _, q := range qk {
							for _, ps := range indexes[di][q.k] {
								if ps.work != w {
									continue
								}
								want := s0 + float64(q.t)*c.Speed
								if math.Abs(float64(ps.t)-want) <= 3 && !seen[ps.t] {
									seen[ps.t] = true
								}
							}
						}
						results[di].hits[qi] = len(seen)
					}
				}(qi, w, start, mix, seed)
			}
			wg.Wait()
			fmt.Printf("%-12s", c.Name)
			for di := range designs {
				h := slices.Clone(results[di].hits)
				slices.Sort(h)
				ok := 0
				for _, v := range h {
					if v >= 4 {
						ok++
					}
				}
				l := slices.Clone(results[di].looks)
				slices.Sort(l)
				fmt.Printf(" | %4d %4.2f %6d      ", h[len(h)/2], float64(ok)/float64(len(h)), l[len(l)/2])
			}
			fmt.Println()
		}
	}
}
