package match

// Still shots: placing a clip by its motion where its pictures cannot.
//
// A clip of a still shot (a fixed camera on a tree, a talking head)
// matches the work's pictures all along the shot, so the vote and the
// verification of MatchVideo find the work but not where the clip sits
// (placedNowhere). What differs along the shot is its small motion, which
// the print keeps per frame (fingerprint/motion.go). placeStill scans the
// offsets where the pictures match as well as at the best one (the
// plateau, contiguous, at most stillMaxFrames either way), correlates the
// query's motion series with the work's at each, and places the clip at
// the best one only when it stands out:
//   - a Pearson correlation of at least stillMinCorr, over at least
//     stillMinPairs frames known on both sides;
//   - ahead of every other offset of the plateau farther than
//     stillNearFrames by stillMinMargin;
//   - a query whose motion varies (a standard deviation of stillMinStd
//     steps at least): a frozen picture has only encoding noise to offer.
//
// Correlation is indifferent to a scale and an offset, which is all a
// crop, a resize, a brightness or contrast change or a still overlay does
// to the series. On the benchmark's fixed-camera footage, the right
// offset correlated at 0.73-0.88 under a 10 % corner crop, a mirror image
// and a low-quality re-encode, and the best wrong offset of the shot at
// 0.55 at most.
//
// The confidence is that of the correlation: Fisher's z of r over half
// the frames compared (neighbouring frames' changes are not independent),
// its normal tail, times the offsets tried.

import (
	"math"

	"github.com/cueprint/cueprint/fingerprint"
)

const (
	// stillMaxFrames is how far (frames, 60 s at 5 fps) either way of the
	// best offset the plateau is followed.
	stillMaxFrames = 300
	// stillMinCorr is the least correlation of the motion series that
	// places a clip.
	stillMinCorr = 0.5
	// stillMinMargin is how far ahead of every other offset of the plateau
	// (farther than stillNearFrames) the best correlation must be.
	stillMinMargin = 0.2
	// stillNearFrames: offsets this close to the best (0.4 s) are the same
	// placement, not rivals.
	stillNearFrames = 2
	// stillMinPairs is the fewest frames with a known motion on both sides.
	stillMinPairs = 20
	// stillMinStd is the least standard deviation (Motion steps, 1/16 of a
	// luma level) of the query's motion series.
	stillMinStd = 2.0
)

// placeStill places a query whose match at offset off (the query frames
// mt matched) is as good elsewhere along a still shot, by its motion (see
// the comment at the top of this file). Only the query's frames in the
// longest run of mt (videoRuns) are compared, after its first: footage
// around the clip moves in its own way, and one of its frames may pass
// for the still picture. It returns the offset and the confidence of the
// placement, or false.
//
// Following the plateau costs a verification per offset, so the cheap
// refusals come first: fewer matched frames than a segment needs
// (VideoParams.MinSpanFrames; a wrong candidate's few chance matches are "as
// good" everywhere, and would be followed the whole stillMaxFrames), or a
// query whose motion is unknown or does not vary.
func (r *videoRef) placeStill(q *fingerprint.VideoPrint, families [][]int, mirror bool, off int64, mt []uint32) (int64, float64, bool) {
	n := len(mt)
	if r.motion == nil || n < r.vp.MinSpanFrames {
		return 0, 0, false
	}
	var run []uint32
	for _, rn := range videoRuns(mt, r.vp) {
		if len(rn) > len(run) {
			run = rn
		}
	}
	clip := &fingerprint.VideoPrint{Sampled: q.Sampled}
	for _, f := range q.Frames {
		// The run's first frame changed from a frame before the clip.
		if len(run) > 0 && f.Index > run[0] && f.Index <= run[len(run)-1] {
			clip.Frames = append(clip.Frames, f)
		}
	}
	if !variedMotion(clip.Frames) {
		return 0, 0, false
	}
	// Each offset of the plateau with its correlation.
	type cand struct {
		off  int64
		corr float64
	}
	var plateau []cand
	as := func(o int64) bool {
		mt, _, _ := r.matched(q, families, mirror, o)
		return 10*len(mt) >= 9*n
	}
	for _, dir := range []int64{-1, 1} {
		for d := int64(0); d <= stillMaxFrames; d++ {
			o := off + dir*d
			if d == 0 && dir == 1 {
				continue
			}
			if d > 0 && !as(o) {
				break
			}
			if c, ok := r.motionCorr(clip, o); ok {
				plateau = append(plateau, cand{o, c})
			}
		}
	}
	if len(plateau) == 0 {
		return 0, 0, false
	}
	best := plateau[0]
	for _, c := range plateau {
		if c.corr > best.corr {
			best = c
		}
	}
	if best.corr < stillMinCorr {
		return 0, 0, false
	}
	for _, c := range plateau {
		if absInt64(c.off-best.off) > stillNearFrames && c.corr > best.corr-stillMinMargin {
			return 0, 0, false
		}
	}
	pairs, _ := r.motionPairs(clip, best.off)
	z := math.Atanh(math.Min(best.corr, 0.999)) * math.Sqrt(math.Max(float64(pairs)/2-3, 1))
	p := 0.5 * math.Erfc(z/math.Sqrt2) * float64(len(plateau))
	return best.off, math.Max(0, 1-p), true
}

// motionCorr returns the Pearson correlation of the query's motion
// series with the work's at offset off, and false when too few frames
// have a known motion on both sides or the query's motion hardly varies.
func (r *videoRef) motionCorr(q *fingerprint.VideoPrint, off int64) (float64, bool) {
	n, xs := r.motionPairs(q, off)
	if n < stillMinPairs {
		return 0, false
	}
	var mx, my float64
	for _, p := range xs {
		mx += p[0]
		my += p[1]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for _, p := range xs {
		dx, dy := p[0]-mx, p[1]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if math.Sqrt(sxx/float64(n)) < stillMinStd {
		return 0, false
	}
	if syy == 0 {
		return 0, true
	}
	return sxy / math.Sqrt(sxx*syy), true
}

// variedMotion reports whether at least stillMinPairs of frames have a
// known motion and it varies by stillMinStd or more.
func variedMotion(frames []fingerprint.VideoFrameHashes) bool {
	var n, sum, sum2 float64
	for _, f := range frames {
		if f.Motion != 0 {
			v := float64(f.Motion)
			n, sum, sum2 = n+1, sum+v, sum2+v*v
		}
	}
	if n < stillMinPairs {
		return false
	}
	m := sum / n
	return math.Sqrt(math.Max(sum2/n-m*m, 0)) >= stillMinStd
}

// motionPairs returns the (query, work) motion values of the query's
// frames at offset off where both are known.
func (r *videoRef) motionPairs(q *fingerprint.VideoPrint, off int64) (int, [][2]float64) {
	var out [][2]float64
	for _, f := range q.Frames {
		t := int64(f.Index) + off
		if f.Motion == 0 || t < 0 || t >= int64(len(r.motion)) || r.motion[t] == 0 {
			continue
		}
		out = append(out, [2]float64{float64(f.Motion), float64(r.motion[t])})
	}
	return len(out), out
}
