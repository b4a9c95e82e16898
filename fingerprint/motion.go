package fingerprint

// Motion: how much the picture changed since the previous sampled frame,
// one byte per frame, kept beside the frame's hashes.
//
// The hashes say what a frame shows; they cannot say when, inside a
// still shot (a fixed camera on a tree, a talking head, a landscape),
// since its frames hash within a bit or two of one another for seconds on
// end, and a clip of it matches all along the shot. What does differ
// along such a shot is its small motion: leaves in the wind, a speaker's
// gestures, the source's own cadence of repeated frames. The series of
// per-frame change is the same in a copy, whatever was done to the
// picture: a crop, a scaled or letterboxed copy changes each value in
// proportion or hardly at all, a brightness or contrast change scales
// them, a logo or caption is still and adds nothing, a mirror image moves
// as much as the original; a copy at another frame rate is sampled at the
// same moments as the work (media.VideoOptions.SkipNonReference keeps
// every frame a tick samples), so its series differs by the frames it
// dropped or repeated only. The matcher correlates a query's series with
// the work's along the shot (see package match) to place such a clip.
//
// Measure: the mean absolute difference of luma (0-255) between the frame
// and the previous sampled frame, over the central 80 % of the frame's
// active area (past the part a 10 % crop removes, and symmetric, so that a
// mirrored copy measures the same), on the FrameSize x FrameSize grey
// picture the hashes are made from. Stored as 1 + round(difference x
// MotionScale), at most 255; 0 means unknown (the first frame, a frame
// after a gap in sampling, or a print made before motion was recorded).

import "github.com/cueprint/cueprint/fingerprint/media"

// MotionScale is how many steps of VideoFrameHashes.Motion make one level
// of luma: 16, so that the small changes of a still shot (0.1-3 levels on
// the footage we measured) keep 2-48 steps, and changes up to 15.8 levels
// fit in a byte (beyond, a frame is no still shot and the value saturates).
const MotionScale = 16

// motionOf returns the Motion value of cur after prev (both at the same
// size); 0 when prev is nil or the sizes differ.
func motionOf(prev, cur *media.VideoFrame) uint8 {
	if prev == nil || prev.Width != cur.Width || prev.Height != cur.Height || len(prev.Pix) != len(cur.Pix) {
		return 0
	}
	a := cur.Active
	x0, x1 := a.X+a.W/10, a.X+a.W-a.W/10
	y0, y1 := a.Y+a.H/10, a.Y+a.H-a.H/10
	x0, x1 = clamp(x0, 0, cur.Width), clamp(x1, 0, cur.Width)
	y0, y1 = clamp(y0, 0, cur.Height), clamp(y1, 0, cur.Height)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	var sum int
	for y := y0; y < y1; y++ {
		p := prev.Pix[y*cur.Width+x0 : y*cur.Width+x1]
		c := cur.Pix[y*cur.Width+x0 : y*cur.Width+x1]
		for i, v := range c {
			d := int(v) - int(p[i])
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	n := (x1 - x0) * (y1 - y0)
	return uint8(1 + min((sum*MotionScale+n/2)/n, 254))
}

// MotionLevel returns the change in luma levels a Motion value stands
// for, and false for 0 (unknown).
func MotionLevel(m uint8) (float64, bool) {
	if m == 0 {
		return 0, false
	}
	return float64(m-1) / MotionScale, true
}
