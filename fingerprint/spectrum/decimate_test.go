package spectrum_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint/spectrum"
)

// rms of the decimated tone, once the filter has filled.
func decimatedRMS(t *testing.T, d *spectrum.Decimator, freq float64, n int) float64 {
	t.Helper()
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * freq * float64(i)))
	}
	y := d.Write(x)
	require.NotEmpty(t, y)
	var s float64
	for _, v := range y {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(y)))
}

// TestDecimatorResponse: a tone below 0.27 of the new rate passes at unit
// gain, one above 0.73 of it (which would fold back below 0.27) is gone.
func TestDecimatorResponse(t *testing.T) {
	for _, tc := range []struct {
		factor   int
		freq     float64 // cycles per output sample
		min, max float64 // gain
	}{
		{8, 0.05, 0.997, 1.003},
		{8, 0.22, 0.997, 1.003},
		{8, 0.27, 0.99, 1.01},
		{8, 0.74, 0, 2e-4},
		{8, 0.9, 0, 2e-4},
		{8, 2.3, 0, 2e-4},
		{2, 0.25, 0.997, 1.003},
		{2, 0.8, 0, 2e-4},
		{32, 0.2, 0.997, 1.003},
		{32, 0.75, 0, 2e-4},
	} {
		d, err := spectrum.NewDecimator(tc.factor)
		require.NoError(t, err)
		gain := decimatedRMS(t, d, tc.freq/float64(tc.factor), 400*tc.factor) * math.Sqrt2
		assert.GreaterOrEqual(t, gain, tc.min, "factor %d, %.2f of the new rate", tc.factor, tc.freq)
		assert.LessOrEqual(t, gain, tc.max, "factor %d, %.2f of the new rate", tc.factor, tc.freq)
	}
}

// TestDecimatorStreaming: the output does not depend on how the input is
// cut, and output m is centred on input Factor*m + Delay.
func TestDecimatorStreaming(t *testing.T) {
	x := make([]float32, 5000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.013) + 0.3*math.Cos(float64(i)*0.0041))
	}
	whole, err := spectrum.NewDecimator(8)
	require.NoError(t, err)
	want := append([]float32(nil), whole.Write(x)...)
	require.Len(t, want, (len(x)-96)/8+1)

	cut, err := spectrum.NewDecimator(8)
	require.NoError(t, err)
	var got []float32
	for off := 0; off < len(x); off += 37 {
		got = append(got, cut.Write(x[off:min(len(x), off+37)])...)
	}
	require.Equal(t, want, got)

	// A slow signal passes unchanged: output m equals the input at its centre.
	for m := 10; m < len(want); m += 50 {
		c := 8*float64(m) + whole.Delay()
		i := int(c)
		at := float64(x[i]) + (c-float64(i))*float64(x[i+1]-x[i])
		assert.InDelta(t, at, float64(want[m]), 2e-3, "output %d", m)
	}
}

func TestNewDecimatorRejects(t *testing.T) {
	for _, f := range []int{-2, 0, 1, 3, 12, 128} {
		_, err := spectrum.NewDecimator(f)
		require.Error(t, err, "factor %d", f)
	}
}

func BenchmarkDecimator(b *testing.B) {
	d, err := spectrum.NewDecimator(8)
	require.NoError(b, err)
	x := make([]float32, 8000) // one second at 8 kHz
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
	}
	for b.Loop() {
		d.Write(x)
	}
}
