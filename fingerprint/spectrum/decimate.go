package spectrum

/*
#cgo CFLAGS: -O3

// cp_fir_decimate writes ny outputs y[m] = sum_k h[k] x[d*m + k], k < nh.
// x must hold d*(ny-1) + nh samples. The sum runs in 16 lanes (k mod 16)
// that the compiler keeps in two vector registers: a single accumulator
// would wait on each addition (the compiler may not reorder float sums).
__attribute__((target_clones("avx2,fma", "default")))
static void cp_fir_decimate(const float *restrict x, const float *restrict h, int nh, int d, int ny, float *restrict y) {
	int n16 = nh & ~15;
	for (int m = 0; m < ny; m++) {
		const float *restrict xm = x + (long)d * m;
		float acc[16] = {0};
		for (int k = 0; k < n16; k += 16)
			for (int j = 0; j < 16; j++) acc[j] += h[k+j] * xm[k+j];
		float s = 0;
		for (int j = 0; j < 16; j++) s += acc[j];
		for (int k = n16; k < nh; k++) s += h[k] * xm[k];
		y[m] = s;
	}
}
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Decimator low-pass filters a stream and keeps one sample in Factor: it
// turns audio at a rate R into audio at R/Factor with nothing above the
// new rate's Nyquist frequency folded back into it. The audio extractor
// analyses the bass through it: a long window at an eighth of the rate is
// an FFT an eighth the size (see package fingerprint).
//
// The filter is a linear-phase FIR, a windowed sinc (Blackman) of
// 12 x Factor taps with its cut-off at the new Nyquist frequency: the
// passband is flat (within 0.02 dB) to 0.27 of the new rate, and
// everything beyond 0.73 is attenuated by 74 dB at least, so that a band
// analysed below 0.27 of the new rate receives no aliases. Output m is
// centred on input sample Factor*m + Delay. A Decimator is used by one
// goroutine; it holds no C memory.
type Decimator struct {
	factor  int
	taps    []float32
	pending []float32 // input not yet consumed by an output
	out     []float32
}

// NewDecimator returns a decimator by factor, a power of two from 2 to 64.
func NewDecimator(factor int) (*Decimator, error) {
	if factor < 2 || factor > 64 || factor&(factor-1) != 0 {
		return nil, fmt.Errorf("spectrum: decimation factor %d, want a power of two from 2 to 64", factor)
	}
	n := 12 * factor
	taps := make([]float32, n)
	fc := 0.5 / float64(factor) // cut-off, in cycles per input sample
	var sum float64
	h := make([]float64, n)
	for i := range h {
		t := float64(i) - float64(n-1)/2
		sinc := 2 * fc
		if t != 0 {
			sinc = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		x := 2 * math.Pi * float64(i) / float64(n-1)
		h[i] = sinc * (0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x))
		sum += h[i]
	}
	for i, v := range h {
		taps[i] = float32(v / sum) // unit gain at 0 Hz
	}
	return &Decimator{factor: factor, taps: taps}, nil
}

// Factor is the decimation factor.
func (d *Decimator) Factor() int { return d.factor }

// Delay is the offset, in input samples, of the centre of output 0's
// filter: output m is the filtered input around sample Factor*m + Delay.
func (d *Decimator) Delay() float64 { return float64(len(d.taps)-1) / 2 }

// Write consumes input samples and returns the outputs they complete. The
// returned slice is reused by the next call.
func (d *Decimator) Write(x []float32) []float32 {
	d.pending = append(d.pending, x...)
	nh := len(d.taps)
	if len(d.pending) < nh {
		return d.out[:0]
	}
	ny := (len(d.pending)-nh)/d.factor + 1
	if cap(d.out) < ny {
		d.out = make([]float32, ny)
	}
	d.out = d.out[:ny]
	C.cp_fir_decimate((*C.float)(unsafe.Pointer(&d.pending[0])), (*C.float)(unsafe.Pointer(&d.taps[0])),
		C.int(nh), C.int(d.factor), C.int(ny), (*C.float)(unsafe.Pointer(&d.out[0])))
	// Keep the unconsumed tail; the copy keeps pending's memory bounded.
	d.pending = append(d.pending[:0], d.pending[ny*d.factor:]...)
	return d.out
}
