// Package spectrum computes the log-magnitude spectrum of windowed audio
// frames with FFmpeg's real FFT (libavutil's av_tx, whose complex
// transform has SSE, AVX and FMA3 kernels).
//
// The audio extractor takes one spectrum every hop (31 a second of audio
// at the default parameters), and before this package a hand-written Go
// FFT was its largest cost: 3.7 us a 1024-sample frame for the FFT alone,
// against 1.3 us here with the window and the logarithm
// (BenchmarkLogMagnitude, one core of an AMD EPYC). The logarithm is the
// extractor's former fastLn: the float's exponent plus a quartic in its
// mantissa, within 2e-4 of ln, since peak picking only compares values.
// One Analyzer holds C memory: Close it, or let the garbage collector do
// it.
package spectrum

/*
#cgo pkg-config: libavutil
#cgo CFLAGS: -O3
#include <stdint.h>
#include <string.h>
#include <libavutil/mem.h>
#include <libavutil/tx.h>

typedef struct {
	AVTXContext    *tx;
	av_tx_fn        fn;
	int             n;
	float          *win; // Hann window, n values
	float          *in;  // windowed frame, n values
	AVComplexFloat *out; // n/2+1 coefficients
} cp_spectrum;

static void cp_spectrum_free(cp_spectrum *s) {
	if (!s) return;
	av_tx_uninit(&s->tx);
	av_freep(&s->win);
	av_freep(&s->in);
	av_freep(&s->out);
	av_free(s);
}

// cp_spectrum_new returns an analyser of frames of n samples (a power of
// two), or NULL with *err set to FFmpeg's error code.
static cp_spectrum *cp_spectrum_new(int n, const float *win, int *err) {
	cp_spectrum *s = av_mallocz(sizeof(*s));
	if (!s) { *err = AVERROR(ENOMEM); return NULL; }
	s->n = n;
	s->win = av_malloc(n * sizeof(float));
	s->in = av_malloc(n * sizeof(float));
	s->out = av_malloc((n/2 + 1) * sizeof(AVComplexFloat));
	if (!s->win || !s->in || !s->out) { cp_spectrum_free(s); *err = AVERROR(ENOMEM); return NULL; }
	memcpy(s->win, win, n * sizeof(float));
	float scale = 1.0f;
	*err = av_tx_init(&s->tx, &s->fn, AV_TX_FLOAT_RDFT, 0, n, &scale, 0);
	if (*err < 0) { cp_spectrum_free(s); return NULL; }
	return s;
}

// cp_fast_ln is fingerprint's fastLn: the float's exponent plus a quartic
// in its mantissa, within 2e-4 of ln(x).
static inline float cp_fast_ln(float x) {
	union { float f; uint32_t u; } v = { x };
	float e = (float)((int32_t)((v.u >> 23) & 0xff) - 127);
	v.u = (v.u & 0x007fffff) | 0x3f800000;
	float t = v.f - 1.0f;
	float l2 = t * (1.4385454f + t*(-0.67807154f + t*(0.32361048f - 0.084273162f*t)));
	return (e + l2) * 0.6931471805599453f;
}

// cp_spectrum_logmag windows x (n samples), transforms it and writes
// 0.5 ln(|X[k]|^2 + 1e-10) for k = lo..hi-1 to dst; k outside 0..n/2
// gives floor.
__attribute__((target_clones("avx2,fma", "default")))
static void cp_spectrum_logmag(cp_spectrum *s, const float *restrict x, int lo, int hi, float floor, float *restrict dst) {
	const int n = s->n;
	float *restrict in = s->in;
	const float *restrict w = s->win;
	for (int i = 0; i < n; i++) in[i] = x[i] * w[i];
	s->fn(s->tx, s->out, s->in, sizeof(float));
	const AVComplexFloat *restrict c = s->out;
	int a = lo < 0 ? 0 : lo, b = hi > n/2 + 1 ? n/2 + 1 : hi;
	for (int k = lo; k < a && k < hi; k++) dst[k-lo] = floor;
	for (int k = b > lo ? b : lo; k < hi; k++) dst[k-lo] = floor;
	for (int k = a; k < b; k++) {
		float p = c[k].re*c[k].re + c[k].im*c[k].im + 1e-10f;
		dst[k-lo] = 0.5f * cp_fast_ln(p);
	}
}
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// Floor is the value given to bins outside 0..n/2 (about the log
// magnitude of digital silence).
const Floor = -23

// Analyzer turns frames of N samples into log-magnitude spectra. It is
// used by one goroutine.
type Analyzer struct {
	c       *C.cp_spectrum
	n       int
	cleanup runtime.Cleanup
}

// New returns an analyser of frames of n samples, n a power of two from 16
// to 65536, windowed by a Hann window.
func New(n int) (*Analyzer, error) {
	if n < 16 || n > 1<<16 || n&(n-1) != 0 {
		return nil, fmt.Errorf("spectrum: frame length %d, want a power of two from 16 to 65536", n)
	}
	win := make([]float32, n)
	for i := range win {
		win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	var cerr C.int
	c := C.cp_spectrum_new(C.int(n), (*C.float)(unsafe.Pointer(&win[0])), &cerr)
	if c == nil {
		return nil, fmt.Errorf("spectrum: FFmpeg real FFT of length %d: error %d", n, int(cerr))
	}
	a := &Analyzer{c: c, n: n}
	a.cleanup = runtime.AddCleanup(a, func(c *C.cp_spectrum) { C.cp_spectrum_free(c) }, c)
	return a, nil
}

// N is the frame length.
func (a *Analyzer) N() int { return a.n }

// LogMagnitude writes to dst[k-lo], for the bins k = lo..lo+len(dst)-1,
// half the natural log of |X[k]|^2 + 1e-10, where X is the discrete
// Fourier transform of frame (len N) times the Hann window, unnormalised.
// Bins outside 0..N/2 get Floor.
func (a *Analyzer) LogMagnitude(dst []float32, frame []float32, lo int) {
	if a.c == nil {
		panic("spectrum: Analyzer used after Close")
	}
	if len(frame) < a.n {
		panic(fmt.Sprintf("spectrum: frame of %d samples, want %d", len(frame), a.n))
	}
	if len(dst) == 0 {
		return
	}
	C.cp_spectrum_logmag(a.c, (*C.float)(unsafe.Pointer(&frame[0])), C.int(lo), C.int(lo+len(dst)), C.float(Floor), (*C.float)(unsafe.Pointer(&dst[0])))
}

// Close frees the analyser's C memory. It may be called more than once.
func (a *Analyzer) Close() {
	if a.c == nil {
		return
	}
	a.cleanup.Stop()
	C.cp_spectrum_free(a.c)
	a.c = nil
}
