package fingerprint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOrderKey: keys order as the values do, and -0 equals +0, as float
// comparison holds them.
func TestOrderKey(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -3.5, -1, -math.SmallestNonzeroFloat32,
		0, math.SmallestNonzeroFloat32, 0.5, 1, 7.25, math.MaxFloat32, float32(math.Inf(1))}
	for i := range vals {
		for j := range vals {
			a, b := vals[i], vals[j]
			assert.Equal(t, a < b, orderKey(a) < orderKey(b), "%v < %v", a, b)
			assert.Equal(t, a == b, orderKey(a) == orderKey(b), "%v == %v", a, b)
		}
	}
	negZero := float32(math.Copysign(0, -1))
	assert.Equal(t, orderKey(0), orderKey(negZero))
}

// TestSlidingMax checks the van Herk/Gil-Werman maxima against a plain
// statement of what they are, edges included (see slidingMax), for several
// half-widths and lengths around block boundaries; away from the edges that
// is the maximum of src[i-h .. i+h].
func TestSlidingMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 5, 18, 19, 20, 38, 57, 418} {
		for _, h := range []int{1, 2, 4, 9, 30} {
			src := make([]int32, n)
			for i := range src {
				src[i] = int32(rng.IntN(41)) - 20 // ties are common
			}
			dst, fwd, bwd := make([]int32, n), make([]int32, n), make([]int32, n)
			slidingMax(dst, src, h, fwd, bwd)
			for i := range src {
				w := 2*h + 1
				lo, hi := max(0, i-h), min(n-1, i+h)
				// The block of lo from lo on, and the block of hi up to hi.
				want := max(slices.Max(src[lo:min(n, (lo/w+1)*w)]), slices.Max(src[hi/w*w:hi+1]))
				if i >= h && i+h < n {
					require.Equal(t, slices.Max(src[i-h:i+h+1]), want)
				}
				require.Equal(t, want, dst[i], "n=%d h=%d i=%d", n, h, i)
			}
		}
	}
}

func BenchmarkSlidingMax(b *testing.B) {
	const n, h = 418, 9
	rng := rand.New(rand.NewPCG(7, 8))
	src := make([]int32, n)
	for i := range src {
		src[i] = orderKey(float32(rng.NormFloat64()))
	}
	dst, fwd, bwd := make([]int32, n), make([]int32, n), make([]int32, n)
	for b.Loop() {
		slidingMax(dst, src, h, fwd, bwd)
	}
}
