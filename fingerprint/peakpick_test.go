package fingerprint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Go statement of the column kernel (column.go), as the extractor ran
// it before the kernel moved to C: every registered print was made by it,
// so the kernel must compute exactly the same, bit for bit.

// refOrderKey maps a whitened value to an int32 of the same order, so
// that the peak picking compares integers. Positive floats keep their
// bits; negative ones have all bits but the sign flipped. Adding +0 first
// maps -0 to +0, which float comparison holds equal. Values are never NaN
// (logarithms of positive magnitudes).
func refOrderKey(v float32) int32 {
	b := int32(math.Float32bits(v + 0))
	return b ^ int32(uint32(b>>31)>>1)
}

// refSlidingMax sets dst[i] = max(src[i-h .. i+h]) (clipped to the
// slice) with the van Herk/Gil-Werman block method: running maxima
// forward and backward within blocks of 2h+1, of which every window spans
// at most two. Where the window is clipped by an end of the slice it
// widens to the whole of the block it falls in: for i < h the maximum is
// over src[0 .. 2h], and near the right end over the last block from its
// start when the window lies within it.
func refSlidingMax(dst, src []int32, h int) {
	n := len(src)
	w := 2*h + 1
	fwd, bwd := make([]int32, n), make([]int32, n)
	for start := 0; start < n; start += w {
		end := min(start+w, n)
		blk, f, b := src[start:end], fwd[start:end], bwd[start:end]
		m := blk[0]
		for i, v := range blk {
			m = max(m, v)
			f[i] = m
		}
		m = blk[len(blk)-1]
		for i := len(blk) - 1; i >= 0; i-- {
			m = max(m, blk[i])
			b[i] = m
		}
	}
	for i := range dst[:n] {
		dst[i] = max(bwd[max(i-h, 0)], fwd[min(i+h, n-1)])
	}
}

// refWhiten subtracts from band its moving average over 2*envHalf+1 bins
// (clipped at the ends), summed in float64 through prefix sums.
func refWhiten(col, band []float32, envHalf int) {
	prefix := make([]float64, len(band)+1)
	sum := 0.0
	for i, v := range band {
		sum += float64(v)
		prefix[i+1] = sum
	}
	for i, v := range band {
		lo, hi := max(0, i-envHalf), min(len(band), i+envHalf+1)
		col[i] = v - float32((prefix[hi]-prefix[lo])*(1/float64(hi-lo)))
	}
}

// TestOrderKey: keys order as the values do, and -0 equals +0, as float
// comparison holds them; the kernel's keys are the reference's.
func TestOrderKey(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -3.5, -1, -math.SmallestNonzeroFloat32,
		0, math.SmallestNonzeroFloat32, 0.5, 1, 7.25, math.MaxFloat32, float32(math.Inf(1))}
	for i := range vals {
		for j := range vals {
			a, b := vals[i], vals[j]
			assert.Equal(t, a < b, refOrderKey(a) < refOrderKey(b), "%v < %v", a, b)
			assert.Equal(t, a == b, refOrderKey(a) == refOrderKey(b), "%v == %v", a, b)
		}
	}
	negZero := float32(math.Copysign(0, -1))
	assert.Equal(t, refOrderKey(0), refOrderKey(negZero))
}

// TestSlidingMax checks the van Herk/Gil-Werman maxima against a plain
// statement of what they are, edges included, for several half-widths and
// lengths around block boundaries; away from the edges that is the maximum
// of src[i-h .. i+h].
func TestSlidingMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 5, 18, 19, 20, 38, 57, 418} {
		for _, h := range []int{1, 2, 4, 9, 30} {
			src := make([]int32, n)
			for i := range src {
				src[i] = int32(rng.IntN(41)) - 20 // ties are common
			}
			dst := make([]int32, n)
			refSlidingMax(dst, src, h)
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

// TestColumnKernel: the C kernel whitens, keys, takes sliding maxima and
// picks peaks exactly as the Go reference does, bit for bit, for band
// widths around the blocks' and the envelope's edges, with ties, signed
// zeros and values on the prominence threshold.
func TestColumnKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const ring, minProm = 9, 0.5
	for _, n := range []int{1, 2, 5, 18, 19, 20, 37, 38, 57, 86, 422} {
		for _, h := range []int{1, 4, 9} {
			envHalf := 2 * h
			c := newColumnRing(n, envHalf, h, ring, minProm)
			refCols := make([][]float32, ring)
			refKeys := make([][]int32, ring)
			refMax := make([][]int32, ring)
			for frame := range 3 * ring {
				band := make([]float32, n)
				for i := range band {
					switch rng.IntN(6) {
					case 0: // ties
						band[i] = float32(rng.IntN(3))
					case 1:
						band[i] = float32(math.Copysign(0, -1))
					default:
						band[i] = float32(rng.NormFloat64() * 3)
					}
				}
				slot := frame % ring
				refCols[slot] = make([]float32, n)
				refWhiten(refCols[slot], band, envHalf)
				refKeys[slot] = make([]int32, n)
				for i, v := range refCols[slot] {
					refKeys[slot][i] = refOrderKey(v)
				}
				refMax[slot] = make([]int32, n)
				refSlidingMax(refMax[slot], refKeys[slot], h)

				// Pick the column ring/2 back, against its neighbours.
				center := frame - ring/2
				pick := -1
				var others []int32
				if center >= 0 {
					pick = center % ring
					for t := max(0, center-ring/2); t <= frame; t++ {
						if t != center {
							others = append(others, int32(t%ring))
						}
					}
				}
				got := slices.Clone(c.add(band, slot, pick, others))

				for i := range n {
					require.Equal(t, math.Float32bits(refCols[slot][i]), math.Float32bits(c.row(slot)[i]), "n=%d h=%d frame %d bin %d", n, h, frame, i)
				}
				require.Equal(t, refKeys[slot], c.keys[slot*n:(slot+1)*n])
				require.Equal(t, refMax[slot], c.colMax[slot*n:(slot+1)*n], "n=%d h=%d frame %d", n, h, frame)
				if pick < 0 {
					require.Empty(t, got)
					continue
				}
				var want []int32
				for k, kv := range refKeys[pick] {
					if kv != refMax[pick][k] || float64(refCols[pick][k]) < minProm {
						continue
					}
					peak := true
					for _, s := range others {
						if refMax[s][k] >= kv {
							peak = false
						}
					}
					if peak {
						want = append(want, int32(k))
					}
				}
				require.Equal(t, want, append([]int32(nil), got...), "n=%d h=%d frame %d", n, h, frame)
			}
		}
	}
}

// TestPromThreshold: comparing float32 values with the threshold decides
// as comparing their float64 values with the prominence does.
func TestPromThreshold(t *testing.T) {
	for _, p := range []float64{0.5, 0.1, 1.0 / 3, 2.7, -0.25, 0} {
		th := promThreshold(p)
		for _, v := range []float32{th, math.Nextafter32(th, -1e9), math.Nextafter32(th, 1e9), float32(p)} {
			assert.Equal(t, float64(v) >= p, v >= th, "p=%v v=%v", p, v)
		}
	}
}

func BenchmarkColumn(b *testing.B) {
	const n, h, ring = 422, 9, 9
	rng := rand.New(rand.NewPCG(7, 8))
	bands := make([][]float32, 64)
	for i := range bands {
		bands[i] = make([]float32, n)
		for k := range bands[i] {
			bands[i][k] = float32(rng.NormFloat64())
		}
	}
	c := newColumnRing(n, 2*h, h, ring, 0.5)
	others := []int32{0, 1, 2, 3, 5, 6, 7, 8}
	frame := 0
	for b.Loop() {
		c.add(bands[frame%len(bands)], frame%ring, 4, others)
		frame++
	}
}

// TestAddFramesMatchesAdd: the batched kernel whitens and picks exactly
// as one add per column, with the slots, picks and neighbour lists the
// extractor used to give it, and hands over the values the interpolation
// reads from the ring: across batches longer than the C side takes at
// once, for rings of 3 and 9 columns and bands at the edges of the
// envelope.
func TestAddFramesMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, pf := range []int{1, 4} {
		for _, n := range []int{1, 19, 86, 422} {
			const h, frames = 9, 53
			rows := 2*pf + 1
			spectra := make([]float32, frames*n)
			for i := range spectra {
				if rng.IntN(5) == 0 {
					spectra[i] = float32(rng.IntN(3)) // ties
				} else {
					spectra[i] = float32(rng.NormFloat64() * 3)
				}
			}
			one := newColumnRing(n, 2*h, h, rows, 0.5)
			var want []columnPeak
			for t := range frames {
				c := t - pf
				pick := -1
				var others []int32
				if c >= 0 {
					pick = c % rows
					for u := max(0, c-pf); u <= t; u++ {
						if u != c {
							others = append(others, int32(u%rows))
						}
					}
				}
				for _, k := range one.add(spectra[t*n:(t+1)*n], t%rows, pick, others) {
					k := int(k)
					col := one.row(pick)
					want = append(want, columnPeak{frame: c, bin: k,
						left: col[max(0, k-1)], mid: col[k], right: col[min(n-1, k+1)],
						prev: one.row(((c-1)%rows + rows) % rows)[k], next: one.row((c + 1) % rows)[k]})
				}
			}
			batched := newColumnRing(n, 2*h, h, rows, 0.5)
			var got []columnPeak
			// Batches of uneven sizes, one longer than the C side's limit.
			for first := 0; first < frames; {
				size := min(frames-first, []int{1, 7, 40}[rng.IntN(3)])
				got = batched.addFrames(got, spectra[first*n:(first+size)*n], size, first, pf)
				first += size
			}
			if n > 1 { // one bin is its own envelope: never prominent
				require.NotEmpty(t, want, "pf=%d n=%d", pf, n)
			}
			require.Equal(t, want, got, "pf=%d n=%d", pf, n)
			require.Equal(t, one.cols, batched.cols)
		}
	}
}
