package match

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// BenchmarkMatch runs whole 10 s queries (hash, vote, rank, align,
// decide) on stores of random prints: an exact excerpt (found on the
// identity's fast path) and an unrelated query (searched under every
// variant: the costly case).
func BenchmarkMatch(b *testing.B) {
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	for _, works := range []int{20, 100} {
		rng := rand.New(rand.NewPCG(uint64(works), 9))
		st, err := index.Open(ctx, "", index.Options{Params: p, InMemory: true})
		if err != nil {
			b.Fatal(err)
		}
		var ref []fingerprint.Peak
		for i := range works {
			peaks := randomPeaks(rng, p, 120)
			if i == 0 {
				ref = peaks
			}
			if _, err := st.Register(ctx, index.Work{ID: fmt.Sprint(i)}, peaks, false); err != nil {
				b.Fatal(err)
			}
		}
		m, err := New(st, DefaultParams(), nil)
		if err != nil {
			b.Fatal(err)
		}
		const startFrame, lenFrames = 1500, 312 // 10 s from 48 s
		var pos []fingerprint.Peak
		for _, pk := range ref {
			if pk.Time >= startFrame && pk.Time < startFrame+lenFrames {
				pk.Time -= startFrame
				pos = append(pos, pk)
			}
		}
		queries := map[string]*fingerprint.AudioPrint{
			"positive": {Peaks: pos, Frames: lenFrames},
			"negative": {Peaks: randomPeaks(rng, p, 10), Frames: lenFrames},
		}
		// Lists from the decoded cache (filled by the first query), then
		// from the in-memory segment (decoded at each lookup).
		for _, from := range []string{"cache", "segment"} {
			if from == "segment" {
				if _, err := st.LoadPostings(ctx); err != nil {
					b.Fatal(err)
				}
			}
			for _, kind := range []string{"positive", "negative"} {
				b.Run(fmt.Sprintf("works=%d/%s/%s", works, from, kind), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := m.Match(ctx, queries[kind]); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
		st.Close()
	}
}

// BenchmarkDecideSteps times the vote's threshold, the adjacent-bin
// ranking and the confidence function on inputs the size of a hard
// query's.
func BenchmarkDecideSteps(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var counts hitCounts
	counts.reset()
	for i := range 200_000 {
		if c := rng.IntN(12); c > 0 {
			counts.add(pairKey(uint32(i/20), uint16(i%20)), c)
		}
	}
	b.Run("voteThreshold/pairs=2e5", func(b *testing.B) {
		for b.Loop() {
			voteThreshold(&counts, 10)
		}
	})
	const pairs = 2000
	var bins []int32
	start := make([]int, pairs+1)
	for pi := range pairs {
		start[pi] = len(bins)
		for range 30 {
			bins = append(bins, int32(rng.IntN(400)-200))
		}
	}
	start[pairs] = len(bins)
	b.Run("bestAdjacentBins/pairs=2e3", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bestAdjacentBins(bins, start[:pairs], start[1:])
		}
	})
	b.Run("confidenceOf", func(b *testing.B) {
		for b.Loop() {
			confidenceOf(40, 6, 12, 10, 500, true)
		}
	})
}
