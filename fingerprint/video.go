package fingerprint

// Video fingerprint: perceptual hashes of sampled frames, several per
// frame, made to be looked up in an inverted index and aligned in time.
//
// Method, per sampled frame:
//  1. FFmpeg samples VideoParams.FPS frames a second, scales each to
//     FrameSize x FrameSize grey (area averaging, aspect ignored) and runs
//     cropdetect, which reports the part of the picture that is not black
//     border (letterbox, pillarbox); cueprint takes it per frame, each
//     pair of opposite bars cut to the thinner one (bars are centred), so
//     that the area depends on the frame alone and not on what came before.
//  2. Inside that active area, regions are box-averaged onto a Grid x Grid
//     grid: for a reference, centred regions of RefScales (1.0 and 0.85 of
//     the area); for a query, QueryRegions: centred at 1.0, 0.95 and 0.9,
//     and 0.94 of a side against each corner and each edge. A query
//     cropped evenly by c has a centred region covering the same picture
//     as a reference region (query scale q matches the reference at
//     q*(1-c), within about 2 % for crops of 0-15 %); one cropped from a
//     corner or one side has an edge region within about 3 % of the
//     reference's 0.85 (see DefaultQueryRegions). Two more centred query
//     regions are hashed from the frame with its still overlay (a logo, a
//     caption) masked: see overlay.go.
//  3. A grid whose luma deviates less than MinContrast is flat (black,
//     a fade, a single colour) and gets no hash: such frames are shared by
//     every video and identify nothing.
//  4. The grid's 2-D DCT-II is computed for the lowest frequencies only,
//     and the 64 lowest non-DC coefficients (by u+v, then u) are compared
//     with their median: 64 bits, half of them set (PDQ's method on a
//     coarser grid: low frequencies are what survives re-encoding, scaling
//     to 240p, logos and captions, and the median makes bits independent
//     of brightness, contrast and, nearly, gamma).
//  5. A horizontally mirrored copy changes the sign of every coefficient
//     of odd horizontal frequency: the query is hashed both ways and both
//     searched (flip-invariant handling at no cost to the index).
//  6. Beside its hashes, each frame keeps one byte of motion: how much the
//     picture changed since the previous sampled frame (motion.go). It is
//     what places a clip inside a still shot, where the hashes match all
//     along.
//
// Index keys: each 64-bit hash is cut into Bands bands of 64/Bands bits;
// the key of a band is (video key space | band << 16 | value), so two
// frames share a key when one band is bit-identical (locality-sensitive
// hashing by bands). A query also probes every key at Hamming distance
// ProbeRadius (1) from its own within a band, which at 15 % flipped bits
// makes a frame found with probability about 0.7 instead of 0.4. Postings
// hold the frame index; the matcher votes on (work, offset in frames),
// then verifies the best candidates on the whole 64-bit hashes of the
// forward print (see package match).
//
// Design note: a single whole-frame hash (PDQ, vPDQ) is 80-96 bits off
// after a 10 % crop and useless after a flip or letterbox; cropdetect,
// the region scales and the mirrored query are what fix those. Temporal
// Fourier features (TMK) cannot locate a clip inside a longer video;
// per-frame keys with offset voting do, as the audio landmarks do.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/cueprint/cueprint/fingerprint/media"
)

// VideoKeySpace is the bit set in every video index key: video postings
// live in their own part of the key space, apart from the audio hashes
// (21 bits, below it).
const VideoKeySpace = 1 << 30

// ErrNoVideoContent: the video decoded but too few frames carry a picture
// worth hashing (black, a still colour, a second or two).
var ErrNoVideoContent = errors.New("fingerprint: no usable video content")

// minVideoFrames is the fewest hashed frames a video print needs: a
// second at the default rate.
const minVideoFrames = 5

// VideoParams are the parameters of the video fingerprint. The index
// stores Hash() and refuses prints made with other parameters.
type VideoParams struct {
	// FPS is the frame sampling rate. The default value is 5: a query of
	// 10 s has 50 frames to vote with, the start of a clip is located to
	// 0.2 s, and the index holds 80 keys a second. Range 1 to 30.
	FPS int
	// FrameSize is the side of the square grey picture FFmpeg scales each
	// sampled frame to. The default value is 96: enough pixels for the
	// border to be found to about 1 % and for a 0.85 region to hold 2.5
	// pixels per grid cell; scaling costs little at this size. Range 32 to
	// 512.
	FrameSize int
	// Grid is the side of the averaged grid the DCT runs on. The default
	// value is 32 (PDQ uses 64 of full resolution; the 64 coefficients we
	// keep need far less). Range 16 to 64.
	Grid int
	// RefScales are the region sizes (fraction of the active area, centred)
	// hashed for a registered work. The default value is [1.0, 0.85].
	RefScales []float64
	// QueryRegions are the regions of the active area hashed for a query.
	// The default value is DefaultQueryRegions: with RefScales they cover
	// crops of 0-15 % taken from the centre, a corner or one side.
	QueryRegions []Region
	// MinContrast is the standard deviation of grid luma (0-255) below
	// which a frame is flat and not hashed. The default value is 6.
	MinContrast float64
	// Bands is how many index keys one hash is cut into (64/Bands bits
	// each). The default value is 4 (16-bit bands). Only 4 is supported.
	Bands int
}

// Region is a part of a frame's active area: W and H are its size as a
// fraction of the area's width and height, AX and AY where it sits (0 at
// the left or top edge, 0.5 centred, 1 at the right or bottom edge).
// Masked regions are hashed from the frame with its still overlay masked
// (queries only: see overlay.go).
type Region struct {
	W, H, AX, AY float64
	Masked       bool
}

// DefaultQueryRegions are the regions a query is hashed over: centred at
// 1.0, 0.95 and 0.9 of the active area (the query uncropped or cropped
// evenly), 0.94 of a side pushed against one edge or corner (cropped
// from a corner or one side), and centred at 1.0 and 0.9 again with the
// still overlay masked (a logo or caption burnt in).
//
// Why: the reference keeps the centred 0.85 region. A query cropped by c
// from one side shows that region at (0.85/(1-c)) of its own width,
// starting (0.075-c)/(1-c) from the cut edge: for c = 5-15 % that is
// 0.89-1.0 of the width, within 3-9 % of the edge. A region of 0.94 against
// the edge covers it to within about 3 % of its side at c = 10 %, which
// costs a few bits of 64, where a centred region is off by 6 % (16 bits
// and more on detailed pictures: the benchmark's corner crop lost a
// quarter of its clips that way).
func DefaultQueryRegions() []Region {
	const e, m = 0.94, 0.85
	r := func(w, h, ax, ay float64) Region { return Region{W: w, H: h, AX: ax, AY: ay} }
	return []Region{
		r(1, 1, 0.5, 0.5), r(0.95, 0.95, 0.5, 0.5), r(0.9, 0.9, 0.5, 0.5),
		// Corners: the picture cut on two sides.
		r(e, e, 0, 0), r(e, e, 1, 0), r(e, e, 0, 1), r(e, e, 1, 1),
		// Sides: cut on one side only, the other axis as the reference's.
		r(e, m, 0, 0.5), r(e, m, 1, 0.5), r(m, e, 0.5, 0), r(m, e, 0.5, 1),
		// The overlay masked.
		{W: 1, H: 1, AX: 0.5, AY: 0.5, Masked: true}, {W: 0.9, H: 0.9, AX: 0.5, AY: 0.5, Masked: true},
	}
}

// DefaultVideoParams returns the parameters every store uses unless told
// otherwise.
func DefaultVideoParams() VideoParams {
	return VideoParams{
		FPS:          5,
		FrameSize:    96,
		Grid:         32,
		RefScales:    []float64{1.0, 0.85},
		QueryRegions: DefaultQueryRegions(),
		MinContrast:  6,
		Bands:        4,
	}
}

// Validate reports every invalid field.
func (p VideoParams) Validate() error {
	var errs []error
	if p.FPS < 1 || p.FPS > 30 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.FPS = %d, want 1 to 30", p.FPS))
	}
	if p.FrameSize < 32 || p.FrameSize > 512 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.FrameSize = %d, want 32 to 512", p.FrameSize))
	}
	if p.Grid < 16 || p.Grid > 64 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.Grid = %d, want 16 to 64", p.Grid))
	}
	if len(p.RefScales) == 0 || len(p.RefScales) > 8 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.RefScales %v, want 1 to 8 of them", p.RefScales))
	}
	for _, s := range p.RefScales {
		if s < 0.5 || s > 1 {
			errs = append(errs, fmt.Errorf("fingerprint: VideoParams.RefScales: scale %v, want 0.5 to 1", s))
		}
	}
	if len(p.QueryRegions) == 0 || len(p.QueryRegions) > 16 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.QueryRegions: %d regions, want 1 to 16", len(p.QueryRegions)))
	}
	for _, r := range p.QueryRegions {
		if r.W < 0.5 || r.W > 1 || r.H < 0.5 || r.H > 1 || r.AX < 0 || r.AX > 1 || r.AY < 0 || r.AY > 1 {
			errs = append(errs, fmt.Errorf("fingerprint: VideoParams.QueryRegions: %+v, want sizes 0.5 to 1 and anchors 0 to 1", r))
		}
	}
	if p.MinContrast < 0 || p.MinContrast > 64 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.MinContrast = %v, want 0 to 64", p.MinContrast))
	}
	if p.Bands != 4 {
		errs = append(errs, fmt.Errorf("fingerprint: VideoParams.Bands = %d, want 4", p.Bands))
	}
	return errors.Join(errs...)
}

// Hash identifies the parameters of reference prints (query-only fields
// excluded: changing how queries are hashed does not invalidate a store).
func (p VideoParams) Hash() uint64 {
	h := sha256.New()
	// The leading number versions what the parameters do not say: 2 is
	// the border found per frame with centred bars (media.VideoFrame.Active).
	_ = binary.Write(h, binary.BigEndian, []int64{2, int64(p.FPS), int64(p.FrameSize), int64(p.Grid),
		int64(math.Float64bits(p.MinContrast)), int64(p.Bands)})
	for _, s := range p.RefScales {
		_ = binary.Write(h, binary.BigEndian, math.Float64bits(s))
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// VideoFrameHashes are the hashes of one sampled frame.
type VideoFrameHashes struct {
	// Index is the frame's number at VideoParams.FPS from the start.
	Index uint32
	// Hashes has one hash per region (RefScales, centred, for a
	// reference; QueryRegions for a query).
	Hashes []uint64
	// Flipped has the hashes of the mirrored frame, per region; set for
	// queries only.
	Flipped []uint64
	// Motion is how much the picture changed since the previous sampled
	// frame (see motion.go); 0 when unknown.
	Motion uint8
}

// VideoPrint is the fingerprint of a video stream: the hashed frames in
// time order (flat frames are absent).
type VideoPrint struct {
	Frames []VideoFrameHashes
	// Sampled is the number of frames sampled, hashed or not.
	Sampled int
	// Duration of the decoded video.
	Duration time.Duration
	// Media describes the decoded input.
	Media media.VideoInfo
}

// VideoOptions tune one extraction.
type VideoOptions struct {
	// Query hashes QueryRegions and the mirrored frame; otherwise RefScales.
	Query bool
	// MaxDuration stops with media.ErrTooLong past this much video.
	MaxDuration time.Duration
	// Filters is an FFmpeg video filter chain applied before sampling
	// (media.VideoOptions.Filters); the benchmark degrades queries with it.
	Filters string
}

// ExtractVideoFile fingerprints the video of the file at path.
func ExtractVideoFile(ctx context.Context, path string, p VideoParams, o VideoOptions) (*VideoPrint, error) {
	return extractVideo(path, p, o, func(mo media.VideoOptions, fn media.FrameFunc) (media.VideoInfo, error) {
		return media.DecodeVideoFile(ctx, path, mo, fn)
	})
}

// ExtractVideoReader fingerprints the video read from r; name is used in
// errors.
func ExtractVideoReader(ctx context.Context, r io.Reader, name string, p VideoParams, o VideoOptions) (*VideoPrint, error) {
	return extractVideo(name, p, o, func(mo media.VideoOptions, fn media.FrameFunc) (media.VideoInfo, error) {
		return media.DecodeVideoReader(ctx, r, name, mo, fn)
	})
}

// VideoFramesFunc receives a query's hashed frames as they are made, in
// order, and horizon: every frame numbered below it has now been handed
// on, or was flat. frames is reused once the function returns. Returning
// an error stops decoding.
type VideoFramesFunc func(frames []VideoFrameHashes, horizon uint32) error

// StreamVideoReader is ExtractVideoReader for a query that arrives over
// time (a live stream): frames are handed to fn as they are hashed and
// not kept, so memory stays bounded whatever the length. The returned
// print has no Frames.
func StreamVideoReader(ctx context.Context, r io.Reader, name string, p VideoParams, o VideoOptions, fn VideoFramesFunc) (*VideoPrint, error) {
	o.Query = true
	return extractVideoTo(name, p, o, fn, func(mo media.VideoOptions, f media.FrameFunc) (media.VideoInfo, error) {
		return media.DecodeVideoReader(ctx, r, name, mo, f)
	})
}

func extractVideo(name string, p VideoParams, o VideoOptions,
	decode func(media.VideoOptions, media.FrameFunc) (media.VideoInfo, error)) (*VideoPrint, error) {
	return extractVideoTo(name, p, o, nil, decode)
}

// extractVideoTo extracts a video print; with fn, frames go to fn as
// they are made instead of into the print.
func extractVideoTo(name string, p VideoParams, o VideoOptions, fn VideoFramesFunc,
	decode func(media.VideoOptions, media.FrameFunc) (media.VideoInfo, error)) (*VideoPrint, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := NewFrameHasher(p)
	vp := &VideoPrint{}
	hashed := 0
	var horizon, told uint32
	// motion holds the Motion of the frames the overlay masker still
	// holds (it hands them on a few seconds late).
	motion := map[uint32]uint8{}
	keep := func(f, masked *media.VideoFrame, idx uint32) {
		m := motion[idx]
		delete(motion, idx)
		if fh, ok := h.hash(f, masked, idx, o.Query); ok {
			fh.Motion = m
			vp.Frames = append(vp.Frames, fh)
			hashed++
		}
		horizon = idx + 1
	}
	hand := func() error {
		if fn == nil || (len(vp.Frames) == 0 && horizon == told) {
			return nil
		}
		err := fn(vp.Frames, horizon)
		vp.Frames, told = vp.Frames[:0], horizon
		return err
	}
	// A query with Masked regions sees each frame with those around it.
	var masker *overlayMasker
	if o.Query && slices.ContainsFunc(p.QueryRegions, func(r Region) bool { return r.Masked }) {
		masker = newOverlayMasker(keep)
	}
	last := int64(-1)
	var prev media.VideoFrame
	info, err := decode(media.VideoOptions{
		FPS: p.FPS, Width: p.FrameSize, Height: p.FrameSize,
		Filters: o.Filters, MaxDuration: o.MaxDuration, SkipNonReference: true,
	}, func(f *media.VideoFrame) error {
		vp.Sampled++
		idx := uint32((f.Time*time.Duration(p.FPS) + time.Second/2) / time.Second)
		if int64(idx) <= last {
			return nil // a repeated tick (the graph was rebuilt mid-stream)
		}
		// Motion against the previous sampled frame, when it is the
		// previous tick.
		if int64(idx) == last+1 && last >= 0 {
			motion[idx] = motionOf(&prev, f)
		}
		last = int64(idx)
		prev.Width, prev.Height, prev.Pix = f.Width, f.Height, append(prev.Pix[:0], f.Pix...)
		if masker != nil {
			masker.add(f, idx)
		} else {
			keep(f, f, idx)
		}
		return hand()
	})
	if masker != nil && err == nil {
		masker.flush()
		err = hand()
	}
	vp.Media, vp.Duration = info, info.Decoded
	if err != nil {
		return nil, err
	}
	if hashed < minVideoFrames {
		return vp, fmt.Errorf("fingerprint %q: %w (%d of %d sampled frames have a picture)", name, ErrNoVideoContent, hashed, vp.Sampled)
	}
	return vp, nil
}

// FrameHasher hashes sampled frames. It keeps scratch buffers: one per
// goroutine.
type FrameHasher struct {
	p     VideoParams
	ref   []Region // RefScales as centred regions
	grid  []float64
	tmp   []float64
	coef  []float64
	sort  []float64
	flip  []float64
	basis [][]float64 // basis[k][x] = cos(pi*(2x+1)*k/(2*Grid)), k < dctSide
	order [][2]int    // the 64 (u, v) coefficients hashed, in bit order
}

// dctSide is how many DCT frequencies per axis are computed: the 64
// lowest non-DC coefficients by u+v all have u, v < 11.
const dctSide = 11

// NewFrameHasher returns a hasher for p (which must be valid).
func NewFrameHasher(p VideoParams) *FrameHasher {
	h := &FrameHasher{p: p, grid: make([]float64, p.Grid*p.Grid), tmp: make([]float64, dctSide*p.Grid),
		coef: make([]float64, 64), sort: make([]float64, 64), flip: make([]float64, 64)}
	for _, s := range p.RefScales {
		h.ref = append(h.ref, Region{W: s, H: s, AX: 0.5, AY: 0.5})
	}
	for k := range dctSide {
		row := make([]float64, p.Grid)
		for x := range p.Grid {
			row[x] = math.Cos(math.Pi * float64(2*x+1) * float64(k) / float64(2*p.Grid))
		}
		h.basis = append(h.basis, row)
	}
	for s := 1; len(h.order) < 64; s++ {
		for u := 0; u <= s && len(h.order) < 64; u++ {
			h.order = append(h.order, [2]int{u, s - u})
		}
	}
	return h
}

// Hash hashes frame f as frame number idx; ok is false for a flat frame or
// one whose active area is implausibly small. A query's Masked regions
// are hashed from f itself (extraction masks overlays first).
func (h *FrameHasher) Hash(f *media.VideoFrame, idx uint32, query bool) (VideoFrameHashes, bool) {
	return h.hash(f, f, idx, query)
}

// hash is Hash with masked, f with its overlay masked, for the Masked
// regions.
func (h *FrameHasher) hash(f, masked *media.VideoFrame, idx uint32, query bool) (VideoFrameHashes, bool) {
	act := f.Active
	// cropdetect on a dark opening can report a sliver: below 40 % of a
	// side the box is not a border but darkness, and the frame is skipped.
	if act.W*5 < f.Width*2 || act.H*5 < f.Height*2 {
		return VideoFrameHashes{}, false
	}
	regions := h.ref
	if query {
		regions = h.p.QueryRegions
	}
	out := VideoFrameHashes{Index: idx, Hashes: make([]uint64, len(regions))}
	if query {
		out.Flipped = make([]uint64, len(regions))
	}
	for i, r := range regions {
		w, ht := float64(act.W)*r.W, float64(act.H)*r.H
		x0 := float64(act.X) + (float64(act.W)-w)*r.AX
		y0 := float64(act.Y) + (float64(act.H)-ht)*r.AY
		src := f
		if r.Masked {
			src = masked
		}
		if !h.sample(src, x0, y0, w, ht) {
			return VideoFrameHashes{}, false
		}
		h.dct()
		out.Hashes[i] = h.bits(false)
		if query {
			out.Flipped[i] = h.bits(true)
		}
	}
	return out, true
}

// sample box-averages the region (x0, y0, w, h) of f onto the grid and
// reports whether it has contrast. Cells take whole pixels: a cell's
// bounds are its fractional bounds rounded, at least one pixel.
func (h *FrameHasher) sample(f *media.VideoFrame, x0, y0, w, ht float64) bool {
	g := h.p.Grid
	var sum, sum2 float64
	for gy := range g {
		ya := int(y0 + ht*float64(gy)/float64(g))
		yb := max(int(y0+ht*float64(gy+1)/float64(g)), ya+1)
		ya, yb = clamp(ya, 0, f.Height-1), clamp(yb, 1, f.Height)
		for gx := range g {
			xa := int(x0 + w*float64(gx)/float64(g))
			xb := max(int(x0+w*float64(gx+1)/float64(g)), xa+1)
			xa, xb = clamp(xa, 0, f.Width-1), clamp(xb, 1, f.Width)
			var acc, n int
			for y := ya; y < yb; y++ {
				row := f.Pix[y*f.Width : (y+1)*f.Width]
				for x := xa; x < xb; x++ {
					acc += int(row[x])
				}
				n += xb - xa
			}
			v := float64(acc) / float64(max(n, 1))
			h.grid[gy*g+gx] = v
			sum += v
			sum2 += v * v
		}
	}
	n := float64(g * g)
	mean := sum / n
	return math.Sqrt(max(sum2/n-mean*mean, 0)) >= h.p.MinContrast
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

// dct computes the needed low-frequency DCT-II coefficients of the grid,
// separably: rows first (tmp[k][y]), then columns.
func (h *FrameHasher) dct() {
	g := h.p.Grid
	for u := range dctSide {
		b := h.basis[u]
		for y := range g {
			row := h.grid[y*g : (y+1)*g]
			var acc float64
			for x, v := range row {
				acc += v * b[x]
			}
			h.tmp[u*g+y] = acc
		}
	}
	for i, uv := range h.order {
		u, v := uv[0], uv[1]
		b := h.basis[v]
		col := h.tmp[u*g : (u+1)*g]
		var acc float64
		for y, t := range col {
			acc += t * b[y]
		}
		h.coef[i] = acc
	}
}

// bits thresholds the coefficients at their median; flipped negates the
// odd horizontal frequencies first (the DCT of the mirrored grid).
func (h *FrameHasher) bits(flipped bool) uint64 {
	vals := h.flip[:64]
	for i, c := range h.coef {
		if flipped && h.order[i][0]%2 == 1 {
			c = -c
		}
		vals[i] = c
	}
	s := h.sort[:64]
	copy(s, vals)
	slices.Sort(s)
	med := (s[31] + s[32]) / 2
	var out uint64
	for i, c := range vals {
		if c > med {
			out |= 1 << uint(i)
		}
	}
	return out
}

// VideoKeys returns the index keys of one hash (one per band).
func VideoKeys(hash uint64, dst []uint32) []uint32 {
	for b := range 4 {
		dst = append(dst, VideoKeySpace|uint32(b)<<16|uint32(hash>>(16*b))&0xffff)
	}
	return dst
}

// VideoProbeKeys returns the keys a query looks up for one hash: each
// band's key and its neighbours at Hamming distance 1 within the band.
func VideoProbeKeys(hash uint64, dst []uint32) []uint32 {
	for b := range 4 {
		v := uint32(hash>>(16*b)) & 0xffff
		base := uint32(VideoKeySpace) | uint32(b)<<16
		dst = append(dst, base|v)
		for i := range 16 {
			dst = append(dst, base|(v^1<<i))
		}
	}
	return dst
}

// Hamming returns the number of bits in which a and b differ.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// AppendVideoPrint encodes a reference print's frames: <uvarint count>
// <uvarint scales>, then per frame <uvarint index delta> and the hashes,
// 8 bytes each, big-endian; then, when there are frames, the motion
// section: <1b videoMotionSection> and one Motion byte per frame.
func AppendVideoPrint(dst []byte, frames []VideoFrameHashes) []byte {
	scales := 0
	if len(frames) > 0 {
		scales = len(frames[0].Hashes)
	}
	dst = binary.AppendUvarint(dst, uint64(len(frames)))
	dst = binary.AppendUvarint(dst, uint64(scales))
	prev := uint32(0)
	for _, f := range frames {
		dst = binary.AppendUvarint(dst, uint64(f.Index-prev))
		prev = f.Index
		for i := range scales {
			dst = binary.BigEndian.AppendUint64(dst, f.Hashes[i])
		}
	}
	if len(frames) > 0 {
		dst = append(dst, videoMotionSection)
		for _, f := range frames {
			dst = append(dst, f.Motion)
		}
	}
	return dst
}

// videoMotionSection opens the motion section of an encoded video print.
// Prints written before it existed end after the hashes: their frames'
// Motion is 0 (unknown).
const videoMotionSection = 0x01

// DecodeVideoPrint decodes what AppendVideoPrint wrote.
func DecodeVideoPrint(b []byte) ([]VideoFrameHashes, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("fingerprint: bad video print count")
	}
	b = b[k:]
	scales, k := binary.Uvarint(b)
	if k <= 0 || scales > 8 || (n > 0 && scales == 0) {
		return nil, fmt.Errorf("fingerprint: bad video print scales")
	}
	b = b[k:]
	out := make([]VideoFrameHashes, 0, n)
	hashes := make([]uint64, int(n)*int(scales))
	prev := uint64(0)
	for i := range int(n) {
		d, k := binary.Uvarint(b)
		if k <= 0 || prev+d > math.MaxUint32 || (i > 0 && d == 0) {
			return nil, fmt.Errorf("fingerprint: bad video print frame %d", i)
		}
		prev += d
		b = b[k:]
		if len(b) < 8*int(scales) {
			return nil, fmt.Errorf("fingerprint: video print truncated at frame %d", i)
		}
		hs := hashes[i*int(scales) : (i+1)*int(scales) : (i+1)*int(scales)]
		for j := range hs {
			hs[j] = binary.BigEndian.Uint64(b[8*j:])
		}
		b = b[8*int(scales):]
		out = append(out, VideoFrameHashes{Index: uint32(prev), Hashes: hs})
	}
	if len(b) > 0 && n > 0 && b[0] == videoMotionSection && len(b) == 1+int(n) {
		for i := range out {
			out[i].Motion = b[1+i]
		}
		b = b[1+n:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("fingerprint: %d bytes after the video print", len(b))
	}
	return out, nil
}
