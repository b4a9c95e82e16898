package fingerprint

/*
#cgo CFLAGS: -O3
#include <stdint.h>
#include <string.h>

#pragma GCC optimize ("fp-contract=off")

// The column kernel: whitening, order keys, the frequency-wise sliding
// maximum and the peak test of one STFT column, in one call per column.
// It computes exactly what the Go code it replaced did (every registered
// print was made by it): the envelope's sums in double, in the same
// order, no fused multiply-adds (fp-contract off, and no FMA target), and
// the sliding maximum's edges as the van Herk/Gil-Werman blocks left them
// (see cp_sliding_max).

// cp_order_key maps a float to an int32 of the same order; -0 and +0 get
// the same key (adding +0 turns -0 into +0, and C keeps signed zeros).
static inline int32_t cp_order_key(float v) {
	float z = v + 0.0f;
	int32_t b;
	memcpy(&b, &z, sizeof b);
	return b ^ (int32_t)((uint32_t)(b >> 31) >> 1);
}

// cp_sliding_max sets dst[i] = max(src[i-h .. i+h]) for h <= i < n-h, and
// at the edges what the van Herk/Gil-Werman blocks of 2h+1 give: for i < h
// the maximum of src[0 .. 2h], and for i >= n-h the maximum to src[n-1]
// from the start of the window, or from the start of the last block when
// the window starts within it. The inside runs by doubling (maxima of 1,
// 2, 4, ... bins), loops of independent lanes that the compiler
// vectorises; a and b are scratch of n values.
static inline void cp_sliding_max(int32_t *restrict dst, const int32_t *restrict src, int n, int h, int32_t *restrict a, int32_t *restrict b) {
	const int w = 2*h + 1;
	int left = h < n ? h : n;
	int32_t m = src[0];
	for (int i = 1; i < n && i < w; i++) m = src[i] > m ? src[i] : m;
	for (int i = 0; i < left; i++) dst[i] = m;
	if (n > 2*h) {
		// Maxima of p consecutive values, p the largest power of two <= w.
		const int32_t *cur = src;
		int p = 1;
		while (2*p <= w) {
			int32_t *next = cur == a ? b : a;
			for (int i = 0; i + 2*p <= n; i++) next[i] = cur[i+p] > cur[i] ? cur[i+p] : cur[i];
			cur = next;
			p *= 2;
		}
		// The window of i is [i-h, i+h]: the p from i-h and the p ending at i+h.
		for (int i = h; i < n - h; i++) {
			int32_t x = cur[i-h], y = cur[i+h-p+1];
			dst[i] = y > x ? y : x;
		}
	}
	// The right edge: the last block's start, or the window's if later.
	const int last = (n - 1) / w * w;
	int32_t suffix = src[n-1];
	int k = n - 1;
	int start = n - h > h ? n - h : h;
	for (int i = n - 1; i >= start; i--) {
		int from = i - h < last ? i - h : last;
		while (k > from) { k--; suffix = src[k] > suffix ? src[k] : suffix; }
		dst[i] = suffix;
	}
}

// cp_prefix sets prefix[i] to the sum of band[0..i-1], i = 0..n, in
// double, adding in bin order.
static void cp_prefix(const float *restrict band, int n, double *restrict prefix) {
	double sum = 0;
	prefix[0] = 0;
	for (int i = 0; i < n; i++) {
		sum += (double)band[i];
		prefix[i+1] = sum;
	}
}

// CP_BATCH is the most columns cp_columns takes in one call.
#define CP_BATCH 16

// cp_prefixes is cp_prefix for frames (CP_BATCH at most) bands of n
// values, rows of spectra, into rows of n+1 values of prefix. Each sum is
// the same sequence of additions as cp_prefix's, so the results are bit
// for bit the same; advanced together, the sums do not wait on each
// other's additions, and one column's 400-odd dependent additions were
// a third of cp_column's time.
static void cp_prefixes(const float *restrict spectra, int frames, int n, double *restrict prefix) {
	double sum[CP_BATCH] = {0};
	for (int f = 0; f < frames; f++)
		prefix[(long)f * (n+1)] = 0;
	for (int i = 0; i < n; i++)
		for (int f = 0; f < frames; f++) {
			sum[f] += (double)spectra[(long)f * n + i];
			prefix[(long)f * (n+1) + i + 1] = sum[f];
		}
}

// cp_column whitens band (n log magnitudes): it subtracts the moving
// average over 2*env_half+1 bins (env_inv[i] is 1 / the average's width
// at i, prefix the band's cp_prefix), writing col, its order keys key and their
// sliding maximum over 2*h+1 bins cmax (a, b scratch of n). Then, if
// nslots >= 0, it tests column pick of the ring rows (rows of n at
// ring_cols, ring_keys, ring_max, slot numbers): bin k is a peak when its
// key equals its row's sliding maximum, its value reaches min_prom (the
// float that the prominence threshold, a double, rounds up to), and
// the sliding maximum at k of every row in others (nslots slot numbers)
// is below its key. It writes the peaks' bins to out, in order, and
// returns how many; -1 when no column was to be tested (nslots < 0).
__attribute__((target_clones("avx2", "default")))
static int cp_column(const float *restrict band, int n, int env_half, const double *restrict env_inv, double *restrict prefix,
	float *restrict col, int32_t *restrict key, int32_t *restrict cmax, int h, int32_t *restrict a, int32_t *restrict b,
	const float *ring_cols, const int32_t *ring_keys, const int32_t *ring_max, int pick, const int32_t *others, int nslots,
	float min_prom, int32_t *restrict out)
{
	int lo_end = env_half < n ? env_half : n;            // i < lo_end: the window clipped at 0
	int hi_start = n - env_half - 1 > lo_end ? n - env_half - 1 : lo_end; // i >= hi_start: clipped at n
	for (int i = 0; i < lo_end; i++) {
		int hi = i + env_half + 1 < n ? i + env_half + 1 : n;
		col[i] = band[i] - (float)((prefix[hi] - prefix[0]) * env_inv[i]);
	}
	for (int i = lo_end; i < hi_start; i++)
		col[i] = band[i] - (float)((prefix[i+env_half+1] - prefix[i-env_half]) * env_inv[i]);
	for (int i = hi_start; i < n; i++) {
		int lo = i - env_half > 0 ? i - env_half : 0;
		col[i] = band[i] - (float)((prefix[n] - prefix[lo]) * env_inv[i]);
	}
	for (int i = 0; i < n; i++) key[i] = cp_order_key(col[i]);
	cp_sliding_max(cmax, key, n, h, a, b);

	if (nslots < 0)
		return -1;
	const float *restrict pc = ring_cols + (long)pick * n;
	const int32_t *restrict pk = ring_keys + (long)pick * n, *restrict pm = ring_max + (long)pick * n;
	int m = 0;
	// Candidates (maxima of their frequency neighbourhood, prominent
	// enough) are a few in a hundred bins: they are found 64 bins at a
	// time without a branch, then only they are compared across time.
	for (int base = 0; base < n; base += 64) {
		int end = base + 64 < n ? base + 64 : n;
		uint64_t cand = 0;
		for (int k = base; k < end; k++)
			cand |= (uint64_t)((pk[k] == pm[k]) & (pc[k] >= min_prom)) << (k - base);
		while (cand) {
			int k = base + __builtin_ctzll(cand);
			cand &= cand - 1;
			int32_t kv = pk[k];
			int peak = 1;
			for (int s = 0; s < nslots; s++)
				if (ring_max[(long)others[s] * n + k] >= kv) { peak = 0; break; }
			if (peak)
				out[m++] = k;
		}
	}
	return m;
}

// cp_peak is a peak cp_columns found: its column (frame number) and bin,
// and the whitened values interpolation needs: v[0..2] the column's at
// bins bin-1, bin and bin+1 (clamped to the band), v[3] and v[4] the
// previous and next columns' at bin.
typedef struct {
	int32_t frame, bin;
	float   v[5];
} cp_peak;

// cp_columns adds frames columns of log magnitudes (rows of n values in
// spectra) to a ring of rows = 2*pf+1 slots as frames first, first+1,
// ...: frame t goes to slot t % rows, and then column c = t - pf, which
// now has all its neighbours, is tested against the columns pf either
// side (those from 0 on) when c >= 0. Peaks go to out, in column order
// then bin order, while out (cap records) has room for a whole column's.
// It adds CP_BATCH frames at most, and returns how many it added; *npeaks
// is set to the peaks written. prefix is scratch of CP_BATCH*(n+1).
static int cp_columns(const float *spectra, int frames, int first, int pf, int n, int env_half, const double *env_inv, double *prefix,
	int h, int32_t *a, int32_t *b, float *ring_cols, int32_t *ring_keys, int32_t *ring_max, int32_t *others, int32_t *bins,
	float min_prom, cp_peak *out, int cap, int *npeaks)
{
	const int rows = 2*pf + 1;
	int m = 0, f = 0;
	if (frames > CP_BATCH)
		frames = CP_BATCH;
	cp_prefixes(spectra, frames, n, prefix);
	for (; f < frames && cap - m >= n; f++) {
		const int t = first + f, slot = t % rows, c = t - pf;
		int nslots = -1, pick = 0;
		if (c >= 0) {
			pick = c % rows;
			nslots = 0;
			for (int u = c - pf > 0 ? c - pf : 0; u <= t; u++)
				if (u != c) others[nslots++] = u % rows;
		}
		int got = cp_column(spectra + (long)f * n, n, env_half, env_inv, prefix + (long)f * (n+1),
			ring_cols + (long)slot * n, ring_keys + (long)slot * n, ring_max + (long)slot * n, h, a, b,
			ring_cols, ring_keys, ring_max, pick, others, nslots, min_prom, bins);
		if (got <= 0)
			continue;
		const float *col = ring_cols + (long)pick * n;
		const float *prev = ring_cols + (long)(((c - 1) % rows + rows) % rows) * n;
		const float *next = ring_cols + (long)((c + 1) % rows) * n;
		for (int i = 0; i < got; i++) {
			int k = bins[i];
			cp_peak *p = &out[m++];
			p->frame = c;
			p->bin = k;
			p->v[0] = col[k > 0 ? k - 1 : 0];
			p->v[1] = col[k];
			p->v[2] = col[k + 1 < n ? k + 1 : n - 1];
			p->v[3] = prev[k];
			p->v[4] = next[k];
		}
	}
	*npeaks = m;
	return f;
}
*/
import "C"

import (
	"math"
	"unsafe"
)

// promThreshold returns the least float32 t >= p: for every float32 v,
// v >= t exactly when float64(v) >= p, so the kernel compares floats.
func promThreshold(p float64) float32 {
	t := float32(p)
	if float64(t) < p {
		t = math.Nextafter32(t, float32(math.Inf(1)))
	}
	return t
}

// columnRing is the C column kernel's view of a band's ring: the last
// rows (2*PeakFrames+1) whitened columns, their order keys and the keys'
// sliding maxima, each ring a flat array of rows of nbins values.
type columnRing struct {
	rows, nbins, envHalf, h int
	minProm                 float32   // promThreshold of the prominence a peak needs
	envInv                  []float64 // per bin, 1 / the envelope's width there
	prefix                  []float64 // CP_BATCH x (nbins+1), scratch
	scratchA                []int32   // nbins, scratch
	scratchB                []int32   // nbins, scratch
	cols                    []float32 // ring x nbins
	keys, colMax            []int32   // ring x nbins
	out                     []int32   // bins picked, nbins at most
	others                  []int32   // slots a column is compared with, scratch
	peaks                   []C.cp_peak
}

// columnPeak is a peak addFrames found, with the whitened values its
// interpolation needs.
type columnPeak struct {
	frame, bin int
	// left, mid and right are the column's values at bins bin-1, bin and
	// bin+1 (clamped to the band); prev and next are the previous and next
	// columns' at bin.
	left, mid, right, prev, next float32
}

// newColumnRing returns a ring of rows columns of nbins bins, whitened
// over 2*envHalf+1 bins, their maxima taken over 2*h+1, whose peaks rise
// minProm above the envelope.
func newColumnRing(nbins, envHalf, h, rows int, minProm float64) *columnRing {
	c := &columnRing{rows: rows, nbins: nbins, envHalf: envHalf, h: h, minProm: promThreshold(minProm)}
	c.envInv = make([]float64, nbins)
	for i := range c.envInv {
		lo, hi := max(0, i-envHalf), min(nbins, i+envHalf+1)
		c.envInv[i] = 1 / float64(hi-lo)
	}
	c.prefix = make([]float64, C.CP_BATCH*(nbins+1))
	c.scratchA = make([]int32, nbins)
	c.scratchB = make([]int32, nbins)
	c.cols = make([]float32, rows*nbins)
	c.keys = make([]int32, rows*nbins)
	c.colMax = make([]int32, rows*nbins)
	c.out = make([]int32, nbins)
	c.others = make([]int32, rows)
	c.peaks = make([]C.cp_peak, 4*nbins)
	return c
}

// addFrames adds frames columns of log magnitudes (rows of nbins values
// in spectra) as frames first, first+1, ... of a ring of rows = 2*pf+1
// slots, and after each tests the column pf back against those pf either
// side, as the analysis of one column by add would (with slot t%rows,
// pick (t-pf)%rows, and others the slots of columns max(0, t-2pf)..t but
// the pick), in one call into C per batch of columns. It appends the
// peaks to dst, in column then bin order, and returns it.
func (c *columnRing) addFrames(dst []columnPeak, spectra []float32, frames, first, pf int) []columnPeak {
	if 2*pf+1 != c.rows || len(spectra) < frames*c.nbins {
		panic("fingerprint: columns of the wrong shape")
	}
	n := c.nbins
	for frames > 0 {
		var np C.int
		done := int(C.cp_columns((*C.float)(unsafe.Pointer(&spectra[0])), C.int(frames), C.int(first), C.int(pf), C.int(n), C.int(c.envHalf),
			(*C.double)(unsafe.Pointer(&c.envInv[0])), (*C.double)(unsafe.Pointer(&c.prefix[0])), C.int(c.h),
			(*C.int32_t)(unsafe.Pointer(&c.scratchA[0])), (*C.int32_t)(unsafe.Pointer(&c.scratchB[0])),
			(*C.float)(unsafe.Pointer(&c.cols[0])), (*C.int32_t)(unsafe.Pointer(&c.keys[0])), (*C.int32_t)(unsafe.Pointer(&c.colMax[0])),
			(*C.int32_t)(unsafe.Pointer(&c.others[0])), (*C.int32_t)(unsafe.Pointer(&c.out[0])),
			C.float(c.minProm), &c.peaks[0], C.int(len(c.peaks)), &np))
		for _, p := range c.peaks[:np] {
			dst = append(dst, columnPeak{frame: int(p.frame), bin: int(p.bin),
				left: float32(p.v[0]), mid: float32(p.v[1]), right: float32(p.v[2]), prev: float32(p.v[3]), next: float32(p.v[4])})
		}
		spectra = spectra[done*n:]
		frames -= done
		first += done
	}
	return dst
}

// row returns slot's whitened column.
func (c *columnRing) row(slot int) []float32 { return c.cols[slot*c.nbins : (slot+1)*c.nbins] }

// add whitens band (nbins log magnitudes) into ring slot slot and computes
// its keys' sliding maximum. If pick >= 0 it then returns the peaks of
// slot pick: bins that are the maximum of their frequency neighbourhood,
// reach the prominence the ring was made with, and whose key is above the
// sliding maximum of every slot in others. The returned slice is reused
// by the next call. It is the kernel one column at a time, with the ring
// in the caller's hands: the tests hold it to the Go statement of the
// kernel, and addFrames, which the extractor uses, to it.
func (c *columnRing) add(band []float32, slot, pick int, others []int32) []int32 {
	if len(band) != c.nbins {
		panic("fingerprint: column of the wrong length")
	}
	n := c.nbins
	nslots := C.int(-1)
	var op *C.int32_t
	if pick >= 0 {
		nslots = C.int(len(others))
		if len(others) > 0 {
			op = (*C.int32_t)(unsafe.Pointer(&others[0]))
		}
	}
	C.cp_prefix((*C.float)(unsafe.Pointer(&band[0])), C.int(n), (*C.double)(unsafe.Pointer(&c.prefix[0])))
	got := C.cp_column((*C.float)(unsafe.Pointer(&band[0])), C.int(n), C.int(c.envHalf),
		(*C.double)(unsafe.Pointer(&c.envInv[0])), (*C.double)(unsafe.Pointer(&c.prefix[0])),
		(*C.float)(unsafe.Pointer(&c.cols[slot*n])), (*C.int32_t)(unsafe.Pointer(&c.keys[slot*n])),
		(*C.int32_t)(unsafe.Pointer(&c.colMax[slot*n])), C.int(c.h),
		(*C.int32_t)(unsafe.Pointer(&c.scratchA[0])), (*C.int32_t)(unsafe.Pointer(&c.scratchB[0])),
		(*C.float)(unsafe.Pointer(&c.cols[0])), (*C.int32_t)(unsafe.Pointer(&c.keys[0])),
		(*C.int32_t)(unsafe.Pointer(&c.colMax[0])), C.int(max(pick, 0)), op, nslots,
		C.float(c.minProm), (*C.int32_t)(unsafe.Pointer(&c.out[0])))
	if got < 0 {
		return nil
	}
	return c.out[:got]
}
