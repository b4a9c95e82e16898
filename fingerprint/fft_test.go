package fingerprint

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveDFT is the definition, for checking.
func naiveDFT(x []float64) []complex128 {
	n := len(x)
	out := make([]complex128, n/2+1)
	for k := range out {
		var s complex128
		for t, v := range x {
			s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*t%n)/float64(n)))
		}
		out[k] = s
	}
	return out
}

func TestRealFFTMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{8, 16, 64, 256, 1024, 2048} {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		f, err := newRealFFT(n)
		require.NoError(t, err)
		got := make([]complex128, n/2+1)
		f.transform(got, x)
		want := naiveDFT(x)
		for k := range want {
			assert.InDelta(t, real(want[k]), real(got[k]), 1e-8*float64(n), "n=%d k=%d re", n, k)
			assert.InDelta(t, imag(want[k]), imag(got[k]), 1e-8*float64(n), "n=%d k=%d im", n, k)
		}
	}
}

func TestRealFFTTone(t *testing.T) {
	const n = 1024
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Cos(2 * math.Pi * 37 * float64(i) / n)
	}
	f, err := newRealFFT(n)
	require.NoError(t, err)
	got := make([]complex128, n/2+1)
	f.transform(got, x)
	for k, c := range got {
		if k == 37 {
			assert.InDelta(t, n/2, cmplx.Abs(c), 1e-9)
		} else {
			assert.Less(t, cmplx.Abs(c), 1e-9, "bin %d", k)
		}
	}
}

func TestRealFFTLength(t *testing.T) {
	for _, n := range []int{0, 4, 1000, 1023} {
		_, err := newRealFFT(n)
		assert.Error(t, err, "n=%d", n)
	}
}

func BenchmarkRealFFT1024(b *testing.B) {
	f, _ := newRealFFT(1024)
	x := make([]float64, 1024)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	dst := make([]complex128, 513)
	for b.Loop() {
		f.transform(dst, x)
	}
}

// TestTransformWindowed: applying the window while loading gives exactly
// the coefficients of transforming the windowed frame.
func TestTransformWindowed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{8, 256, 1024} {
		f, err := newRealFFT(n)
		require.NoError(t, err)
		x := make([]float32, n)
		w := make([]float64, n)
		xw := make([]float64, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
			xw[i] = float64(x[i]) * w[i]
		}
		want := make([]complex128, n/2+1)
		got := make([]complex128, n/2+1)
		f.transform(want, xw)
		f.transformWindowed(got, x, w, 0, n/2)
		require.Equal(t, want, got, "n=%d", n)
		// A band: only its coefficients are written.
		band := make([]complex128, n/2+1)
		f.transformWindowed(band, x, w, 2, n/4)
		for k := range band {
			if k >= 2 && k <= n/4 {
				require.Equal(t, want[k], band[k], "n=%d k=%d", n, k)
			} else {
				require.Zero(t, band[k], "n=%d k=%d", n, k)
			}
		}
	}
}

// stageByStage is the transform as it was first written: radix-2 stages
// run one pass at a time, and the split with complex products. The fused
// passes and the written-out split must give exactly these values (a zero
// may change sign, which no magnitude sees), or registered prints would
// drift.
func stageByStage(f *realFFT, x []float64) []complex128 {
	m := f.m
	buf := make([]complex128, m)
	for i, r := range f.rev {
		buf[i] = complex(x[2*r], x[2*r+1])
	}
	for i := 0; i+3 < m; i += 4 {
		a, b, c, d := buf[i], buf[i+1], buf[i+2], buf[i+3]
		a, b = a+b, a-b
		c, d = c+d, c-d
		d = complex(imag(d), -real(d))
		buf[i], buf[i+2] = a+c, a-c
		buf[i+1], buf[i+3] = b+d, b-d
	}
	for size := 8; size <= m; size <<= 1 {
		half, step := size>>1, m/size
		for start := 0; start < m; start += size {
			for j := range half {
				s, c := math.Sincos(-2 * math.Pi * float64(j*step) / float64(m))
				t := buf[start+half+j] * complex(c, s)
				u := buf[start+j]
				buf[start+j], buf[start+half+j] = u+t, u-t
			}
		}
	}
	dst := make([]complex128, m+1)
	z0 := buf[0]
	dst[0] = complex(real(z0)+imag(z0), 0)
	dst[m] = complex(real(z0)-imag(z0), 0)
	for k := 1; k < m; k++ {
		zk, zc := buf[k], buf[m-k]
		zc = complex(real(zc), -imag(zc))
		e := (zk + zc) * 0.5
		o := (zk - zc) * complex(0, -0.5)
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(f.n))
		dst[k] = e + complex(c, s)*o
	}
	return dst
}

func TestRealFFTFusedStagesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{8, 16, 32, 64, 128, 1024, 2048} {
		f, err := newRealFFT(n)
		require.NoError(t, err)
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		want := stageByStage(f, x)
		got := make([]complex128, n/2+1)
		f.transform(got, x)
		require.Equal(t, want, got, "n=%d", n)
	}
}
