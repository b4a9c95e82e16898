package fingerprint

import (
	"github.com/cueprint/cueprint/fingerprint/media"
)

// Burnt-in overlays (a channel logo, a caption, a watermark) are the one
// change to a copy that no region can step around: they sit inside the
// picture, often on a dark part where they dominate its lowest
// frequencies. They are also still while the picture under them moves,
// which is how the query side finds them: over a window of sampled frames
// around each frame, a pixel whose value hardly changes while most of the
// picture does is taken to be overlay, and the query's Masked regions are
// hashed from a copy of the frame in which those pixels hold the mean of
// the others. The reference is never masked (it has no overlay); a copy
// without one loses nothing, as its unmasked regions are still hashed.
//
// Parameters, on the FrameSize x FrameSize grey frames:
//   - overlayWindow: 12 frames either side (2.4 s at 5 fps each way): long
//     enough for moving content to have moved, short enough to follow
//     shots.
//   - overlayStillRange: 10 grey levels of range over the window is still
//     (re-encoding noise after area averaging is 2-4).
//   - The still part must be 0.5-30 % of the active area: less is noise,
//     more is a still shot or a still background, not an overlay, and then
//     nothing is masked.
const (
	overlayWindow     = 12
	overlayMinFrames  = 6
	overlayStillRange = 10
	overlayMinShare   = 0.005
	overlayMaxShare   = 0.30
)

// overlayMasker delays sampled frames by overlayWindow so that each is
// seen with the frames around it, and hands each on with its masked copy.
type overlayMasker struct {
	buf  []media.VideoFrame // copies, oldest first
	idx  []uint32
	next int // the first buffered frame not yet handed on
	emit func(f, masked *media.VideoFrame, idx uint32)

	lo, hi []byte // scratch: per-pixel min and max over the window
	still  []bool
	masked media.VideoFrame
}

func newOverlayMasker(emit func(f, masked *media.VideoFrame, idx uint32)) *overlayMasker {
	return &overlayMasker{emit: emit}
}

// add takes one sampled frame (copied: the decoder reuses f).
func (m *overlayMasker) add(f *media.VideoFrame, idx uint32) {
	if n := len(m.buf); n > 0 && (m.buf[n-1].Width != f.Width || m.buf[n-1].Height != f.Height) {
		m.flush() // the frame size changed: a new window
	}
	var c media.VideoFrame
	if len(m.buf) > 2*overlayWindow+1 {
		// Recycle the oldest copy's pixels.
		c = m.buf[0]
		m.buf, m.idx, m.next = m.buf[1:], m.idx[1:], m.next-1
	}
	c.Time, c.Width, c.Height, c.Active = f.Time, f.Width, f.Height, f.Active
	c.Pix = append(c.Pix[:0], f.Pix...)
	m.buf = append(m.buf, c)
	m.idx = append(m.idx, idx)
	for m.next < len(m.buf) && m.next+overlayWindow < len(m.buf) {
		m.process(m.next)
		m.next++
	}
}

// flush hands on every frame still buffered.
func (m *overlayMasker) flush() {
	for ; m.next < len(m.buf); m.next++ {
		m.process(m.next)
	}
	m.buf, m.idx, m.next = m.buf[:0], m.idx[:0], 0
}

// process masks frame i of the buffer against the frames within
// overlayWindow of it and emits it.
func (m *overlayMasker) process(i int) {
	f := &m.buf[i]
	a, b := max(i-overlayWindow, 0), min(i+overlayWindow+1, len(m.buf))
	if b-a < overlayMinFrames || !m.findStill(a, b) {
		m.emit(f, f, m.idx[i])
		return
	}
	mf := &m.masked
	mf.Time, mf.Width, mf.Height, mf.Active = f.Time, f.Width, f.Height, f.Active
	mf.Pix = append(mf.Pix[:0], f.Pix...)
	act := f.Active
	var sum, n int
	for y := act.Y; y < act.Y+act.H; y++ {
		for x := act.X; x < act.X+act.W; x++ {
			if !m.still[y*f.Width+x] {
				sum += int(f.Pix[y*f.Width+x])
				n++
			}
		}
	}
	fill := byte(sum / max(n, 1))
	for y := act.Y; y < act.Y+act.H; y++ {
		for x := act.X; x < act.X+act.W; x++ {
			if m.still[y*f.Width+x] {
				mf.Pix[y*f.Width+x] = fill
			}
		}
	}
	m.emit(f, mf, m.idx[i])
}

// findStill marks in m.still the pixels of the active area of the frames
// a..b-1 (the area of the middle one) whose range stays within
// overlayStillRange, grown by one pixel; it reports whether they make a
// plausible overlay.
func (m *overlayMasker) findStill(a, b int) bool {
	ref := &m.buf[(a+b)/2]
	w, h := ref.Width, ref.Height
	if cap(m.lo) < w*h {
		m.lo, m.hi, m.still = make([]byte, w*h), make([]byte, w*h), make([]bool, w*h)
	}
	m.lo, m.hi, m.still = m.lo[:w*h], m.hi[:w*h], m.still[:w*h]
	copy(m.lo, m.buf[a].Pix)
	copy(m.hi, m.buf[a].Pix)
	for j := a + 1; j < b; j++ {
		for k, v := range m.buf[j].Pix {
			m.lo[k] = min(m.lo[k], v)
			m.hi[k] = max(m.hi[k], v)
		}
	}
	act := ref.Active
	area := act.W * act.H
	if area == 0 {
		return false
	}
	clear(m.still)
	count := 0
	for y := act.Y; y < act.Y+act.H; y++ {
		for x := act.X; x < act.X+act.W; x++ {
			k := y*w + x
			if m.hi[k]-m.lo[k] > overlayStillRange {
				continue
			}
			count++
			// Grow by one pixel: an overlay's edge is blended into its
			// neighbours by the scaling.
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if yy, xx := y+dy, x+dx; yy >= act.Y && yy < act.Y+act.H && xx >= act.X && xx < act.X+act.W {
						m.still[yy*w+xx] = true
					}
				}
			}
		}
	}
	share := float64(count) / float64(area)
	return share >= overlayMinShare && share <= overlayMaxShare
}
