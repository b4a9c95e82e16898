// Package spectrum computes the log-magnitude spectrum of windowed audio
// frames with FFmpeg's FFT (libavutil's av_tx, whose complex transform
// has SSE, AVX and FMA3 kernels).
//
// The audio extractor takes one spectrum every hop (31 a second of audio
// at the default parameters), and before this package a hand-written Go
// FFT was its largest cost: 3.7 us a 1024-sample frame for the FFT alone.
// A real frame of n samples is transformed as n/2 complex ones (even
// samples real, odd imaginary) by av_tx's complex FFT, and the real
// spectrum is made of it here, vectorised, for the bins asked for only.
// FFmpeg 5.1's own real FFT (AV_TX_FLOAT_RDFT) does that last pass in
// scalar C, which took as long as the FFT: with it a 1024-sample frame,
// window and logarithm included, took 2.5-2.6 us against 1.8-2.1 us now
// (BenchmarkLogMagnitude, alternating runs on one core of an AMD EPYC).
// The logarithm is the extractor's former fastLn: the float's exponent
// plus a quartic in its mantissa, within 2e-4 of ln, since peak picking
// only compares values. One Analyzer holds C memory: Close it, or let the
// garbage collector do it.
package spectrum

/*
#cgo pkg-config: libavutil
#cgo CFLAGS: -O3
#include <stdint.h>
#include <string.h>
#include <libavutil/mem.h>
#include <libavutil/tx.h>

typedef struct {
	AVTXContext    *tx;  // complex FFT of n/2 points
	av_tx_fn        fn;
	int             n;
	float          *win; // Hann window, n values
	float          *in;  // windowed frame, n values: n/2 complex ones
	AVComplexFloat *z;   // its FFT, n/2 coefficients
	float          *wr;  // cos(2 pi k/n), k = 0..n/2
	float          *wi;  // -sin(2 pi k/n)
	float          *scratch; // 2n values
} cp_spectrum;

static void cp_spectrum_free(cp_spectrum *s) {
	if (!s) return;
	av_tx_uninit(&s->tx);
	av_freep(&s->win);
	av_freep(&s->in);
	av_freep(&s->z);
	av_freep(&s->wr);
	av_freep(&s->wi);
	av_freep(&s->scratch);
	av_free(s);
}

// cp_spectrum_new returns an analyser of frames of n samples (a power of
// two), or NULL with *err set to FFmpeg's error code.
static cp_spectrum *cp_spectrum_new(int n, const float *win, const float *wr, const float *wi, int *err) {
	cp_spectrum *s = av_mallocz(sizeof(*s));
	if (!s) { *err = AVERROR(ENOMEM); return NULL; }
	s->n = n;
	s->win = av_malloc(n * sizeof(float));
	s->in = av_malloc(n * sizeof(float));
	s->z = av_malloc((n/2) * sizeof(AVComplexFloat));
	s->wr = av_malloc((n/2 + 1) * sizeof(float));
	s->wi = av_malloc((n/2 + 1) * sizeof(float));
	s->scratch = av_malloc(2 * n * sizeof(float));
	if (!s->win || !s->in || !s->z || !s->wr || !s->wi || !s->scratch) { cp_spectrum_free(s); *err = AVERROR(ENOMEM); return NULL; }
	memcpy(s->win, win, n * sizeof(float));
	memcpy(s->wr, wr, (n/2 + 1) * sizeof(float));
	memcpy(s->wi, wi, (n/2 + 1) * sizeof(float));
	float scale = 1.0f;
	*err = av_tx_init(&s->tx, &s->fn, AV_TX_FLOAT_FFT, 0, n/2, &scale, 0);
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

// cp_power is |X[k]|^2 + 1e-10 for the DFT X of the n real samples
// whose n/2-point complex FFT (even samples real, odd imaginary) is z:
// with Z1 = z[k mod n/2] = (ar, ai) and Z2 = conj(z[(n/2-k) mod n/2]),
// (br, bi) the unconjugated coefficient, the even
// samples' DFT is E = (Z1 + Z2)/2, the odd ones' O = (Z1 - Z2)/2i, and
// X[k] = E + W^k O, W = exp(-2 pi i/n).
static inline float cp_power(float ar, float ai, float br, float bi, float wr, float wi) {
	float er = 0.5f*(ar + br), ei = 0.5f*(ai - bi);
	float or_ = 0.5f*(ai + bi), oi = 0.5f*(br - ar);
	float xr = er + (wr*or_ - wi*oi), xi = ei + (wr*oi + wi*or_);
	return xr*xr + xi*xi + 1e-10f;
}

// cp_spectrum_logmag windows x (n samples), transforms it and writes
// 0.5 ln(|X[k]|^2 + 1e-10) for k = lo..hi-1 to dst; k outside 0..n/2
// gives floor. libavutil's real FFT (AV_TX_FLOAT_RDFT) in FFmpeg 5.1 runs
// the complex FFT of n/2 points in assembly but its final pass, which
// makes the real spectrum of the complex one, in scalar C: that pass took
// as long as the FFT. Here it runs vectorised, and over lo..hi only.
__attribute__((target_clones("avx2,fma", "default")))
static void cp_spectrum_logmag(cp_spectrum *s, const float *restrict x, int lo, int hi, float floor, float *restrict dst) {
	const int n = s->n, m = n/2;
	float *restrict in = s->in;
	const float *restrict w = s->win;
	for (int i = 0; i < n; i++) in[i] = x[i] * w[i];
	s->fn(s->tx, s->z, s->in, sizeof(AVComplexFloat));
	const float *restrict z = (const float *)s->z; // re, im interleaved
	const float *restrict wr = s->wr, *restrict wi = s->wi;
	int a = lo < 0 ? 0 : lo, b = hi > m + 1 ? m + 1 : hi;
	for (int k = lo; k < a && k < hi; k++) dst[k-lo] = floor;
	for (int k = b > lo ? b : lo; k < hi; k++) dst[k-lo] = floor;
	if (a >= b) return;
	// k = 0 and k = n/2 pair z[0] with itself.
	if (a == 0) dst[-lo] = 0.5f * cp_fast_ln(cp_power(z[0], z[1], z[0], z[1], wr[0], wi[0]));
	if (b == m + 1) dst[m-lo] = 0.5f * cp_fast_ln(cp_power(z[0], z[1], z[0], z[1], wr[m], wi[m]));
	int ka = a > 1 ? a : 1, kb = b < m ? b : m;
	// Split into real and imaginary parts, forward and mirrored (for k,
	// z[n/2-k]), so that the loop below reads four arrays in order and
	// vectorises.
	float *restrict ar = s->scratch, *restrict ai = ar + m, *restrict br = ai + m, *restrict bi = br + m;
	for (int k = 0; k < m; k++) { ar[k] = z[2*k]; ai[k] = z[2*k+1]; }
	for (int k = ka; k < kb; k++) { br[k] = ar[m-k]; bi[k] = ai[m-k]; }
	float *restrict d = dst - lo;
	for (int k = ka; k < kb; k++)
		d[k] = 0.5f * cp_fast_ln(cp_power(ar[k], ai[k], br[k], bi[k], wr[k], wi[k]));
}

// cp_spectrum_frames runs cp_spectrum_logmag on frames frames of x, the
// f-th starting at sample f*hop, writing the f-th to dst + f*(hi-lo).
static void cp_spectrum_frames(cp_spectrum *s, const float *x, int hop, int frames, int lo, int hi, float floor, float *dst) {
	for (int f = 0; f < frames; f++)
		cp_spectrum_logmag(s, x + (long)f * hop, lo, hi, floor, dst + (long)f * (hi - lo));
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
	wr, wi := make([]float32, n/2+1), make([]float32, n/2+1)
	for k := range wr {
		s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
		wr[k], wi[k] = float32(c), float32(-s)
	}
	var cerr C.int
	c := C.cp_spectrum_new(C.int(n), (*C.float)(unsafe.Pointer(&win[0])), (*C.float)(unsafe.Pointer(&wr[0])), (*C.float)(unsafe.Pointer(&wi[0])), &cerr)
	if c == nil {
		return nil, fmt.Errorf("spectrum: FFmpeg complex FFT of %d points for frames of %d: error %d", n/2, n, int(cerr))
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

// LogMagnitudes is LogMagnitude for frames frames of x, frame f starting
// at sample f*hop, in one call: spectrum f goes to dst[f*w : (f+1)*w],
// where w = len(dst)/frames. x must hold (frames-1)*hop + N samples.
func (a *Analyzer) LogMagnitudes(dst []float32, x []float32, hop, frames, lo int) {
	if a.c == nil {
		panic("spectrum: Analyzer used after Close")
	}
	if frames <= 0 || len(dst) == 0 {
		return
	}
	if hop <= 0 || len(x) < (frames-1)*hop+a.n || len(dst)%frames != 0 {
		panic(fmt.Sprintf("spectrum: %d frames of %d samples at hop %d from %d samples into %d values", frames, a.n, hop, len(x), len(dst)))
	}
	w := len(dst) / frames
	C.cp_spectrum_frames(a.c, (*C.float)(unsafe.Pointer(&x[0])), C.int(hop), C.int(frames), C.int(lo), C.int(lo+w), C.float(Floor), (*C.float)(unsafe.Pointer(&dst[0])))
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
