package spectrum_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint/spectrum"
)

// naive is the textbook DFT of the Hann-windowed frame, in float64.
func naive(x []float32, k int) float64 {
	n := len(x)
	var re, im float64
	for t, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(t)/float64(n))
		s, c := math.Sincos(-2 * math.Pi * float64(k*t%n) / float64(n))
		re += float64(v) * w * c
		im += float64(v) * w * s
	}
	return 0.5 * math.Log(re*re+im*im+1e-10)
}

func TestLogMagnitude(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		n      int
		lo, hi int
		signal func(i int) float32
	}{
		{"noise 1024 full band", 1024, 0, 513, func(int) float32 { return float32(rng.NormFloat64()) }},
		{"tone 1024 margins outside", 1024, -1, 514, func(i int) float32 { return float32(math.Sin(2 * math.Pi * 100.25 * float64(i) / 1024)) }},
		{"two tones 256 part band", 256, 10, 90, func(i int) float32 {
			return float32(0.3*math.Sin(2*math.Pi*20*float64(i)/256) + 0.01*math.Cos(2*math.Pi*77.5*float64(i)/256))
		}},
		{"noise 4096", 4096, 30, 450, func(int) float32 { return float32(rng.Float64() - 0.5) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := spectrum.New(tc.n)
			require.NoError(t, err)
			defer a.Close()
			x := make([]float32, tc.n)
			for i := range x {
				x[i] = tc.signal(i)
			}
			got := make([]float32, tc.hi-tc.lo)
			a.LogMagnitude(got, x, tc.lo)
			want := make([]float64, len(got))
			peak := 0.0
			for i := range got {
				if k := tc.lo + i; k >= 0 && k <= tc.n/2 {
					want[i] = naive(x, k)
					peak = max(peak, want[i])
				}
			}
			for i, g := range got {
				k := tc.lo + i
				if k < 0 || k > tc.n/2 {
					require.EqualValues(t, spectrum.Floor, g, "bin %d", k)
					continue
				}
				// fastLn is within 2e-4 of ln; single-precision rounding
				// adds about 1e-6 of the strongest bin's magnitude.
				m, wm := math.Exp(float64(g)), math.Exp(want[i])
				require.InDelta(t, wm, m, 1e-3*wm+1e-5*math.Exp(peak), "bin %d: %g, want %g", k, g, want[i])
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, n := range []int{0, 8, 1000, 1 << 17} {
		_, err := spectrum.New(n)
		require.Error(t, err, "n=%d", n)
	}
}

func TestCloseTwice(t *testing.T) {
	a, err := spectrum.New(1024)
	require.NoError(t, err)
	a.Close()
	a.Close()
	require.Panics(t, func() { a.LogMagnitude(make([]float32, 4), make([]float32, 1024), 0) })
}

func BenchmarkLogMagnitude(b *testing.B) {
	a, err := spectrum.New(1024)
	require.NoError(b, err)
	defer a.Close()
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
	}
	dst := make([]float32, 420)
	for b.Loop() {
		a.LogMagnitude(dst, x, 31)
	}
}

// TestLogMagnitudes: the batched call gives, frame by frame, exactly what
// LogMagnitude gives for each frame alone.
func TestLogMagnitudes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n, hop, frames, lo, width int
	}{{1024, 256, 16, 28, 422}, {512, 32, 5, -2, 90}, {256, 256, 1, 0, 129}, {64, 7, 9, 30, 6}} {
		a, err := spectrum.New(tc.n)
		require.NoError(t, err)
		x := make([]float32, (tc.frames-1)*tc.hop+tc.n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		got := make([]float32, tc.frames*tc.width)
		a.LogMagnitudes(got, x, tc.hop, tc.frames, tc.lo)
		want := make([]float32, tc.width)
		for f := range tc.frames {
			a.LogMagnitude(want, x[f*tc.hop:], tc.lo)
			require.Equal(t, want, got[f*tc.width:(f+1)*tc.width], "n=%d frame %d", tc.n, f)
		}
		require.Panics(t, func() { a.LogMagnitudes(got, x[:len(x)-1], tc.hop, tc.frames, tc.lo) }, "too few samples")
		a.Close()
	}
}
