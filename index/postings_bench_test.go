package index

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkDecodePostings decodes lists in each of their forms: one work
// inline, a short list, and Roaring lists of growing length (a key's list
// grows with the catalogue).
func BenchmarkDecodePostings(b *testing.B) {
	for _, works := range []int{1, 16, 63, 1000, 10_000} {
		rng := rand.New(rand.NewPCG(uint64(works), 1))
		var pl postingList
		w := uint32(0)
		for range works {
			w += 1 + uint32(rng.IntN(200))
			times := []uint32{uint32(rng.IntN(5000))}
			if rng.IntN(8) == 0 {
				times = append(times, times[0]+uint32(1+rng.IntN(300)))
			}
			pl.works = append(pl.works, w)
			pl.times = append(pl.times, times)
		}
		v := encodePostings(&pl)
		b.Run(fmt.Sprintf("works=%d", works), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(v)))
			var out postingList
			for b.Loop() {
				out.works, out.times = out.works[:0], out.times[:0]
				if err := decodePostings(v, &out, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
