package match

// Video matching: candidates by a vote on (work, mirror, offset) over the
// banded frame keys, then verification of each candidate on the whole
// 64-bit hashes of its forward print, then segments.
//
//  1. Every query frame's hashes (each query region, plain and mirrored)
//     are expanded into probe keys (fingerprint.VideoProbeKeys) and looked
//     up. A hit of query frame q on reference frame r votes for (work,
//     mirror, r-q); a query frame votes once per triple.
//  2. The best-voted offsets (at most VideoParams.Candidates) are verified: for
//     each query frame, the smallest Hamming distance between its region
//     hashes of one family (the centred regions together, or one
//     off-centre region: see regionFamilies) and any of the reference's at
//     frame q+offset±1. A frame matches at VideoParams.MatchBits or less; the
//     family matching the most frames is kept. On footage we measured,
//     unrelated frames come that close about once in a thousand times,
//     matched frames under every single transformation of the benchmark
//     (crop 10 %, 240p, letterbox, logo, caption, flip, gamma) in 85-100 %
//     of cases.
//  3. Runs of matched frames (gaps up to VideoParams.GapFrames) with at least
//     VideoParams.MinFrames matches become segments. Confidence is one minus the
//     binomial tail probability that an unrelated work matches as many
//     frames of the run, at VideoParams.NullRate per frame, corrected for the
//     candidates and region families tried: a run of 5 matched frames out of 5 is already
//     beyond chance, one of 5 out of 50 is not. Frames of a still shot
//     count as one picture, on the query's side and on the work's: a run
//     needs VideoParams.MinEffective distinct pictures on both, and an alignment
//     that matches as well a second or more away is no placement at all
//     (placedNowhere): such a clip of a still shot is placed by the
//     motion of its frames, or not at all (placeStill, still.go).
//  4. For a query with sound (MatchMedia), every work the sound found and
//     the picture search did not is checked once more on the picture, at
//     the times the sound aligned (confirmPicture): that places a still
//     picture, which the search cannot.
//
// Design note: voting alone (the audio method) is not enough for video:
// frames of one shot are near-identical, so a static scene votes for a
// band of offsets, and generic pictures (a face, a sky) share bands with
// many works. The 64-bit verification is cheap (one forward print per
// candidate) and separates the two populations by 16 bits or more.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// Modalities of a segment.
const (
	ModalityAudio       = "audio"
	ModalityVideo       = "video"
	ModalityAudiovisual = "audiovisual"
)

// videoVote is one query frame's vote for a (work, mirror, offset).
type videoVote struct {
	key uint64 // work << 32 | mirror << 31 | (offset + 1<<30)
	q   uint32
}

func videoVoteKey(num uint32, mirror bool, off int64) uint64 {
	k := uint64(num)<<32 | uint64(off+1<<30)&(1<<31-1)
	if mirror {
		k |= 1 << 31
	}
	return k
}

func splitVideoVoteKey(k uint64) (num uint32, mirror bool, off int64) {
	return uint32(k >> 32), k&(1<<31) != 0, int64(k&(1<<31-1)) - 1<<30
}

// MatchVideo returns the registered works whose pictures the query
// contains, in query order, each with Modality "video". A query with no
// match returns an empty slice and no error.
func (m *Matcher) MatchVideo(ctx context.Context, q *fingerprint.VideoPrint) ([]Segment, error) {
	if q == nil || len(q.Frames) == 0 {
		return nil, nil
	}
	// Probe keys of every frame, plain and mirrored: the centred regions'
	// (masked or not) bands and their neighbours at distance 1, the
	// off-centre regions' bands only (they are many, and a crop they fit leaves few bits
	// changed; verification compares whole hashes anyway).
	regions := m.store.VideoParams().QueryRegions
	families := regionFamilies(regions, len(q.Frames[0].Hashes))
	wide := make([]bool, len(q.Frames[0].Hashes))
	for i := range wide {
		wide[i] = len(regions) != len(wide) || centredRegion(regions[i])
	}
	type probe struct {
		q      uint32
		mirror bool
	}
	byKey := map[uint32][]probe{}
	var keys []uint32
	for _, f := range q.Frames {
		for mi, hs := range [][]uint64{f.Hashes, f.Flipped} {
			for i, h := range hs {
				if i < len(wide) && wide[i] {
					keys = fingerprint.VideoProbeKeys(h, keys[:0])
				} else {
					keys = fingerprint.VideoKeys(h, keys[:0])
				}
				for _, k := range keys {
					ps := byKey[k]
					if n := len(ps); n > 0 && ps[n-1].q == f.Index && ps[n-1].mirror == (mi == 1) {
						continue
					}
					byKey[k] = append(ps, probe{q: f.Index, mirror: mi == 1})
				}
			}
		}
	}
	sorted := make([]uint32, 0, len(byKey))
	for k := range byKey {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)

	var votes []videoVote
	// Votes are sorted by value before counting (topVideoCandidates), so
	// the order they are made in does not matter.
	err := m.store.Postings(ctx, sorted, func(key uint32, it *index.PostingsIter) {
		for it.Next() {
			w, ts := it.At()
			for _, p := range byKey[key] {
				for _, t := range ts {
					votes = append(votes, videoVote{key: videoVoteKey(w, p.mirror, int64(t)-int64(p.q)), q: p.q})
				}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("match video: %w", err)
	}
	cands := topVideoCandidates(votes, m.p.Video)

	// Verify, best-voted first, m.p.Video.Candidates at a time. When every
	// candidate of a batch yields a segment, the next batch is verified
	// too: copies of one picture registered again and again must not
	// crowd out a work ranked below them (as in search, for the sound).
	qFlat := flatFrames(q, m.p.Video)
	refs := map[uint32]*videoRef{}
	var segs []Segment
	for start := 0; start < len(cands); start += m.p.Video.Candidates {
		batch := cands[start:min(len(cands), start+m.p.Video.Candidates)]
		// The chance a frame matches by accident is counted over every
		// candidate verified so far.
		tries := (start + len(batch)) * len(families)
		found := 0
		for _, c := range batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			got, err := m.verifyVideo(c, q, qFlat, families, refs, tries)
			if err != nil {
				return nil, err
			}
			if len(got) > 0 {
				found++
			}
			segs = append(segs, got...)
		}
		if found < len(batch) {
			break
		}
	}
	segs = dropOverlapping(segs)
	segs = dropShadowed(segs, m.p.Video)
	sortSegments(segs)
	return segs, nil
}

// verifyVideo aligns one candidate (work, mirror, offset) with query q
// and returns the segments it yields. refs caches the works' prints (nil
// for a work deleted since the vote); tries is the number of
// (candidate, region family) pairs tried, for the chance-match bound.
func (m *Matcher) verifyVideo(c videoVote, q *fingerprint.VideoPrint, qFlat []bool, families [][]int, refs map[uint32]*videoRef, tries int) ([]Segment, error) {
	num, mirror, off := splitVideoVoteKey(c.key)
	ref, ok := refs[num]
	if !ok {
		frames, err := m.store.VideoPrint(num)
		if errors.Is(err, index.ErrNotFound) {
			refs[num] = nil
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("match video: %w", err)
		}
		ref = newVideoRef(frames, m.p.Video)
		refs[num] = ref
	}
	if ref == nil {
		return nil, nil
	}
	// Refine the offset: the most matched frames within a second either
	// way, ties (a still shot matches at many offsets) broken by the
	// smallest total distance at the exact frame.
	var best []uint32
	var bestNear map[uint32]int
	bestOff, bestDist := off, math.MaxInt
	for d := int64(-m.p.Video.RefineFrames); d <= int64(m.p.Video.RefineFrames); d++ {
		mt, near, dist := ref.matched(q, families, mirror, off+d)
		if len(mt) > len(best) || (len(mt) == len(best) && len(mt) > 0 && dist < bestDist) {
			best, bestNear, bestOff, bestDist = mt, near, off+d, dist
		}
	}
	// A still shot: placed by its motion, or not at all.
	placed := 0.0
	if ref.placedNowhere(q, families, mirror, bestOff, len(best), bestDist) {
		o, conf, ok := ref.placeStill(q, families, mirror, bestOff, best)
		if !ok {
			return nil, nil
		}
		best, bestNear, _ = ref.matched(q, families, mirror, o)
		bestOff, placed = o, math.Max(conf, math.SmallestNonzeroFloat64)
	}
	var segs []Segment
	for _, run := range videoRuns(best, m.p.Video) {
		run = trimWeak(run, bestNear, m.p.Video)
		if s, ok := m.videoSegment(num, q, qFlat, ref, run, bestNear, bestOff, tries, placed); ok {
			segs = append(segs, s)
		}
	}
	return segs, nil
}

// dropShadowed removes every segment that lies for half its length or
// more inside a segment of another work with more matched frames: a
// picture shows one work at a time, so the weaker of two works claiming
// the same seconds is the chance match (on the benchmark, a dark film
// matched at 50 of 50 frames also met 5 of 20 frames of a cartoon).
func dropShadowed(segs []Segment, vp VideoParams) []Segment {
	out := segs[:0:0]
	for i, s := range segs {
		shadowed := false
		for j, o := range segs {
			if i == j || o.Work.Num == s.Work.Num || o.Score <= s.Score {
				continue
			}
			ov := math.Min(s.QueryEnd, o.QueryEnd) - math.Max(s.QueryStart, o.QueryStart)
			if ov >= 0.5*(s.QueryEnd-s.QueryStart) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			out = append(out, s)
		}
	}
	return out
}

// topVideoCandidates counts distinct voting query frames per (work,
// mirror, offset), adds each offset's neighbours (frame jitter) and returns
// the best vp.Candidates*vp.CandidateBatches with at least vp.MinVotes.
func topVideoCandidates(votes []videoVote, vp VideoParams) []videoVote {
	slices.SortFunc(votes, func(x, y videoVote) int {
		if x.key != y.key {
			if x.key < y.key {
				return -1
			}
			return 1
		}
		return int(x.q) - int(y.q)
	})
	type count struct {
		key uint64
		n   int
	}
	var counts []count
	for i := 0; i < len(votes); {
		j, n := i, 0
		for ; j < len(votes) && votes[j].key == votes[i].key; j++ {
			if j == i || votes[j].q != votes[j-1].q {
				n++
			}
		}
		counts = append(counts, count{votes[i].key, n})
		i = j
	}
	// Neighbouring offsets of the same (work, mirror) are adjacent keys.
	scored := make([]videoVote, 0, len(counts))
	for i, c := range counts {
		s := c.n
		if i > 0 && counts[i-1].key == c.key-1 {
			s += counts[i-1].n
		}
		if i+1 < len(counts) && counts[i+1].key == c.key+1 {
			s += counts[i+1].n
		}
		if c.n >= vp.MinVotes || s >= 2*vp.MinVotes {
			scored = append(scored, videoVote{key: c.key, q: uint32(s)})
		}
	}
	slices.SortFunc(scored, func(x, y videoVote) int { return int(y.q) - int(x.q) })
	// One candidate per (work, mirror) and offset neighbourhood.
	var out []videoVote
	for _, c := range scored {
		if len(out) == vp.Candidates*vp.CandidateBatches {
			break
		}
		dup := false
		for _, o := range out {
			if o.key>>31 == c.key>>31 && absInt64(int64(o.key&(1<<31-1))-int64(c.key&(1<<31-1))) <= 2 {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

func absInt64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// videoRef is a reference print indexed by frame number.
type videoRef struct {
	at  [][]uint64 // at[i]: hashes of frame i, nil when absent (flat)
	len int
	// motion[i] is frame i's Motion (0 unknown); nil when the print has
	// none (made before motion was recorded).
	motion []uint8
	vp     VideoParams
}

func newVideoRef(frames []fingerprint.VideoFrameHashes, vp VideoParams) *videoRef {
	r := &videoRef{vp: vp}
	if len(frames) == 0 {
		return r
	}
	r.len = int(frames[len(frames)-1].Index) + 1
	r.at = make([][]uint64, r.len)
	for _, f := range frames {
		r.at[f.Index] = f.Hashes
		if f.Motion != 0 {
			if r.motion == nil {
				r.motion = make([]uint8, r.len)
			}
			r.motion[f.Index] = f.Motion
		}
	}
	return r
}

// videoShiftFrames are the shifts (1, 2 and 5 s at the default rate) at
// which placedNowhere compares an alignment with itself.
var videoShiftFrames = [...]int64{-25, -10, -5, 5, 10, 25}

// placedNowhere reports whether the query's match at offset off (n frames
// matched, dist their summed distance, as matched returns them) is no
// better than at an offset a second or more away: as many frames (90 %)
// at a mean distance no more than a bit larger. A clip of a still shot
// matches that way all along the shot, and whichever offset wins does so
// by noise: on the benchmark, a cropped clip of a fixed camera on a tree
// won 4 s from where it was taken. Moving pictures lose most of their
// matches a second away; a slow scene keeps them but is placed by the
// distances.
func (r *videoRef) placedNowhere(q *fingerprint.VideoPrint, families [][]int, mirror bool, off int64, n, dist int) bool {
	for _, d := range videoShiftFrames {
		mt, _, dd := r.matched(q, families, mirror, off+d)
		if m := len(mt); 10*m >= 9*n && dd*n <= (dist+n)*m {
			return true
		}
	}
	return false
}

// framesAt returns the reference frames facing the query frames qs at
// offset off (reference frame = query frame + off), in order, skipping
// those the reference has no hash for.
func (r *videoRef) framesAt(qs []fingerprint.VideoFrameHashes, off int64) []fingerprint.VideoFrameHashes {
	out := make([]fingerprint.VideoFrameHashes, 0, len(qs))
	for _, f := range qs {
		t := int64(f.Index) + off
		if t < 0 || t >= int64(r.len) || r.at[t] == nil {
			continue
		}
		out = append(out, fingerprint.VideoFrameHashes{Index: uint32(t), Hashes: r.at[t]})
	}
	return out
}

// regionFamilies groups a query's region hashes (by index) into families
// verified together: the centred regions are one family (a query cropped
// evenly, or not at all, matches through whichever of them fits best
// frame by frame), the centred regions with the overlay masked another,
// every off-centre region its own (a copy is cropped the same way
// throughout, so one corner or side must carry the whole match). Regions
// unknown to the store's parameters are one family.
func regionFamilies(regions []fingerprint.Region, n int) [][]int {
	if len(regions) != n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	var centred, masked []int
	var out [][]int
	for i, r := range regions {
		switch {
		case centredRegion(r) && r.Masked:
			masked = append(masked, i)
		case centredRegion(r):
			centred = append(centred, i)
		default:
			out = append(out, []int{i})
		}
	}
	if len(masked) > 0 {
		out = append([][]int{masked}, out...)
	}
	if len(centred) > 0 {
		out = append([][]int{centred}, out...)
	}
	return out
}

func centredRegion(r fingerprint.Region) bool { return r.AX == 0.5 && r.AY == 0.5 }

// matched returns the query frame numbers that match the reference at
// offset off (reference frame = query frame + off), ±1 frame, through the
// region family that matches the most frames, and the sum over them of
// the distance at the exact frame (64 where it is absent), and each matched
// frame's smallest distance within ±1 frame. Holding the
// family fixed keeps the chance that an unrelated frame matches at that
// of one family; choosing the best of several is paid for in the
// confidence (see videoSegment).
func (r *videoRef) matched(q *fingerprint.VideoPrint, families [][]int, mirror bool, off int64) ([]uint32, map[uint32]int, int) {
	return r.matchedAlong(q, families, mirror, func(qi uint32) int64 { return int64(qi) + off })
}

// matchedAlong is matched with the reference frame of each query frame
// given by refOf (a constant offset, or an audio alignment's time map).
func (r *videoRef) matchedAlong(q *fingerprint.VideoPrint, families [][]int, mirror bool, refOf func(qi uint32) int64) ([]uint32, map[uint32]int, int) {
	var best []uint32
	var bestNear []int
	bestTotal := math.MaxInt
	var out []uint32
	var outNear []int
	for _, fam := range families {
		out, outNear = out[:0], outNear[:0]
		total := 0
		for _, f := range q.Frames {
			hs := f.Hashes
			if mirror {
				hs = f.Flipped
			}
			near, exact := 65, 64
			at := refOf(f.Index)
			for d := int64(-1); d <= 1; d++ {
				t := at + d
				if t < 0 || t >= int64(r.len) {
					continue
				}
				for _, rh := range r.at[t] {
					for _, i := range fam {
						if i >= len(hs) {
							continue
						}
						h := fingerprint.Hamming(hs[i], rh)
						near = min(near, h)
						if d == 0 {
							exact = min(exact, h)
						}
					}
				}
			}
			if near <= r.vp.MatchBits {
				out = append(out, f.Index)
				outNear = append(outNear, near)
				total += exact
			}
		}
		if len(out) > len(best) || (len(out) == len(best) && len(out) > 0 && total < bestTotal) {
			best, bestNear, bestTotal = append(best[:0], out...), append(bestNear[:0], outNear...), total
		}
	}
	if len(best) == 0 {
		return nil, nil, 0
	}
	near := make(map[uint32]int, len(best))
	for i, f := range best {
		near[f] = bestNear[i]
	}
	return best, near, bestTotal
}

// videoRuns splits matched query frames into runs with gaps of at most
// r.vp.GapFrames, then trims from each end the matches that stand alone
// (no other match within r.vp.EdgeFrames): a dark or blurred frame of the
// footage around a clip can pass for one of the work's.
func videoRuns(matched []uint32, vp VideoParams) [][]uint32 {
	var runs [][]uint32
	start := 0
	for i := 1; i <= len(matched); i++ {
		if i == len(matched) || matched[i]-matched[i-1] > uint32(vp.GapFrames) {
			run := matched[start:i]
			for len(run) >= 2 && run[1]-run[0] > uint32(vp.EdgeFrames) {
				run = run[1:]
			}
			for n := len(run); n >= 2 && run[n-1]-run[n-2] > uint32(vp.EdgeFrames); n = len(run) {
				run = run[:n-1]
			}
			runs = append(runs, run)
			start = i
		}
	}
	return runs
}

// trimWeak drops from each end of a run the matches farther than
// vp.StrongBits that are cut off from the first (last) close match by
// more than vp.EdgeFrames: a frame of the footage around a clip that
// happens to look like one of the work's matches weakly and apart (14-16
// bits on the benchmark, where it moved an embedded clip's start 1.8 s
// early), while a clip's own weak frames (hard pictures, heavy
// degradation) sit among its close ones.
func trimWeak(run []uint32, near map[uint32]int, vp VideoParams) []uint32 {
	first := slices.IndexFunc(run, func(f uint32) bool { return near[f] <= vp.StrongBits })
	if first < 0 {
		return nil
	}
	// Keep the weak matches before the first close one only as far as
	// they chain to it with gaps of vp.EdgeFrames at most.
	i := first
	for i > 0 && run[i]-run[i-1] <= uint32(vp.EdgeFrames) {
		i--
	}
	run = run[i:]
	last := len(run) - 1
	for near[run[last]] > vp.StrongBits {
		last--
	}
	j := last
	for j < len(run)-1 && run[j+1]-run[j] <= uint32(vp.EdgeFrames) {
		j++
	}
	return run[:j+1]
}

// effectiveFrames counts the frames of fs (in time order) that show
// something new: a hash at least vp.NewBits from the last one counted.
// Frames of a still shot are one observation, not many.
func effectiveFrames(fs []fingerprint.VideoFrameHashes, vp VideoParams) int {
	n := 0
	var last uint64
	for i, f := range fs {
		if len(f.Hashes) == 0 {
			continue
		}
		if i == 0 || n == 0 || fingerprint.Hamming(f.Hashes[0], last) >= vp.NewBits {
			n++
			last = f.Hashes[0]
		}
	}
	return n
}

// videoSegment turns a run of matched frames into a segment, if it is
// beyond chance. still is the confidence of a placement by motion
// (placeStill), 0 for a run the pictures place: a still shot's pictures
// are one observation however many frames match, so its confidence is
// the placement's.
func (m *Matcher) videoSegment(num uint32, q *fingerprint.VideoPrint, qFlat []bool, ref *videoRef, run []uint32, near map[uint32]int, off int64, tried int, still float64) (Segment, bool) {
	if len(run) < m.p.Video.MinFrames {
		return Segment{}, false
	}
	first, last := run[0], run[len(run)-1]
	if last-first+1 < uint32(m.p.Video.MinSpanFrames) {
		return Segment{}, false
	}
	// The query's frames in the run's span, and those matched, each
	// counted once per change of picture.
	var span []fingerprint.VideoFrameHashes
	for _, f := range q.Frames {
		if f.Index >= first && f.Index <= last {
			span = append(span, f)
		}
	}
	hit, strong := hitFrames(span, run, near, m.p.Video)
	var conf float64
	if still > 0 {
		// Most frames close, as copies match (see m.p.Video.StrongBits).
		if 2*len(strong) < len(span) {
			return Segment{}, false
		}
		conf = still
	} else if conf = m.pictureConfidence(span, hit, strong, ref, off, tried); conf == 0 {
		return Segment{}, false
	}
	if conf < m.p.MinConfidence {
		return Segment{}, false
	}
	w, err := m.store.GetNum(num)
	if err != nil {
		return Segment{}, false
	}
	fps := float64(m.store.VideoParams().FPS)
	first, last = extendFlat(qFlat, ref, int64(math.Round(w.DurationS*fps)), first, last, off, m.p.Video)
	qs, qe := float64(first)/fps, float64(last+1)/fps
	return Segment{
		Work:       w,
		QueryStart: round3(qs), QueryEnd: round3(qe),
		RefStart: round3(qs + float64(off)/fps), RefEnd: round3(qe + float64(off)/fps),
		Score:      len(run),
		Confidence: round3(conf),
		Speed:      1,
		Modality:   ModalityVideo,
	}, true
}

// pictureConfidence is the confidence of a run the pictures place: span
// are the query's frames in the run's span, hit those matched, strong
// those matched within m.p.Video.StrongBits; 0 when the run is no evidence.
func (m *Matcher) pictureConfidence(span, hit, strong []fingerprint.VideoFrameHashes, ref *videoRef, off int64, tried int) float64 {
	n, k := effectiveFrames(span, m.p.Video), effectiveFrames(hit, m.p.Video)
	if k < m.p.Video.MinEffective || effectiveFrames(strong, m.p.Video) < m.p.Video.MinEffective {
		return 0
	}
	// The distinct pictures are counted on the reference side too: a still
	// shot of the work matches a still query at every offset along it, so
	// the run places the clip nowhere in particular, yet a degraded query
	// (cropped, re-encoded) jitters by more than m.p.Video.NewBits from frame
	// to frame and passes the count above. On the benchmark such runs
	// placed a clip of a 24-second still shot up to 10 s from where it was
	// taken, at confidence 1. The work is still found where the sound
	// places it: see confirmPicture.
	if effectiveFrames(ref.framesAt(hit, off), m.p.Video) < m.p.Video.MinEffective {
		return 0
	}
	p := binomialTail(n, k, m.p.Video.NullRate) * float64(max(tried, 1))
	return math.Max(0, 1-p)
}

// hitFrames returns the frames of fs (in order) that matched (sorted
// frame numbers), and those of them matched within m.p.Video.StrongBits (near
// holds each matched frame's distance).
func hitFrames(fs []fingerprint.VideoFrameHashes, matched []uint32, near map[uint32]int, vp VideoParams) (hit, strong []fingerprint.VideoFrameHashes) {
	j := 0
	for _, f := range fs {
		for j < len(matched) && matched[j] < f.Index {
			j++
		}
		if j < len(matched) && matched[j] == f.Index {
			hit = append(hit, f)
			if near[f.Index] <= vp.StrongBits {
				strong = append(strong, f)
			}
		}
	}
	return hit, strong
}

// flatFrames marks the query's sampled frames that carry no hash (flat:
// black, a fade, one colour).
func flatFrames(q *fingerprint.VideoPrint, vp VideoParams) []bool {
	n := q.Sampled
	if k := len(q.Frames); k > 0 {
		n = max(n, int(q.Frames[k-1].Index)+1)
	}
	flat := make([]bool, n)
	for i := range flat {
		flat[i] = true
	}
	for _, f := range q.Frames {
		flat[f.Index] = false
	}
	return flat
}

// extendFlat widens a segment [first, last] (query frames) over the flat
// frames next to it that face flat frames of the reference at offset off:
// a clip that opens on black or ends in a fade starts and ends where the
// work's own black does, not at its first picture. refFrames is the
// work's length in frames (its print ends at its last picture). The
// extension never passes vp.GapFrames: it adds no evidence, only
// extent.
func extendFlat(qFlat []bool, ref *videoRef, refFrames int64, first, last uint32, off int64, vp VideoParams) (uint32, uint32) {
	refFlat := func(t int64) bool {
		if t < 0 || t >= max(refFrames, int64(ref.len)) {
			return false
		}
		return t >= int64(ref.len) || ref.at[t] == nil
	}
	for n := 0; n < vp.GapFrames && first > 0 && qFlat[first-1] && refFlat(int64(first)-1+off); n++ {
		first--
	}
	for n := 0; n < vp.GapFrames && int(last)+1 < len(qFlat) && qFlat[last+1] && refFlat(int64(last)+1+off); n++ {
		last++
	}
	return first, last
}

// binomialTail returns P(X >= k) for X ~ Binomial(n, p).
func binomialTail(n, k int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	var sum float64
	for i := k; i <= n; i++ {
		lg1, _ := math.Lgamma(float64(n + 1))
		lg2, _ := math.Lgamma(float64(i + 1))
		lg3, _ := math.Lgamma(float64(n - i + 1))
		t := math.Exp(lg1 - lg2 - lg3 + float64(i)*lp + float64(n-i)*lq)
		sum += t
		if t < sum*1e-12 {
			break
		}
	}
	return math.Min(sum, 1)
}

// dropOverlapping keeps, of the segments of one work that overlap in the
// query (one clip aligned at several offsets), the one with the most
// matched frames; ties go to the best-voted candidate, which came first.
// A repetitive picture (a character waving, a walk cycle) matches at an
// offset one period away as well as it does where it was taken, and the
// vote may rank that offset first; the full alignment matches more
// frames (on the benchmark, 45 against 31 for a 10 % corner crop of a
// robot waving).
func dropOverlapping(segs []Segment) []Segment {
	sorted := slices.Clone(segs)
	slices.SortStableFunc(sorted, func(a, b Segment) int { return b.Score - a.Score })
	kept := sorted[:0]
	for _, s := range sorted {
		if !overlapsSame(kept, s) {
			kept = append(kept, s)
		}
	}
	return kept
}

// overlapsSame reports whether segs already has a segment of s's work
// overlapping it in the query.
func overlapsSame(segs []Segment, s Segment) bool {
	for _, o := range segs {
		if o.Work.Num == s.Work.Num && o.QueryStart < s.QueryEnd && s.QueryStart < o.QueryEnd {
			return true
		}
	}
	return false
}

// avOffsetTolerance is how far (seconds) the audio and the video
// alignments of one work may disagree and still be one audiovisual match.
const avOffsetTolerance = 1.0

// Fuse combines the audio and the video segments of one query: where both
// found the same work at consistent offsets (within avOffsetTolerance)
// and overlapping times, one "audiovisual" segment spanning both, with the
// combined confidence 1-(1-ca)(1-cv); otherwise each segment as it is.
// Audio segments get Modality "audio" if they have none.
func Fuse(audio, video []Segment) []Segment {
	out := make([]Segment, 0, len(audio)+len(video))
	usedVideo := make([]bool, len(video))
	for _, a := range audio {
		if a.Modality == "" {
			a.Modality = ModalityAudio
		}
		for j, v := range video {
			if usedVideo[j] || !fusable(a, v) {
				continue
			}
			usedVideo[j] = true
			speed := a.Speed
			if speed <= 0 {
				speed = 1
			}
			qs := math.Min(a.QueryStart, v.QueryStart)
			qe := math.Max(a.QueryEnd, v.QueryEnd)
			rs := a.RefStart + (qs-a.QueryStart)*speed
			a.QueryStart, a.QueryEnd = qs, qe
			a.RefStart, a.RefEnd = round3(rs), round3(rs+(qe-qs)*speed)
			a.Score += v.Score
			a.Confidence = round3(1 - (1-a.Confidence)*(1-v.Confidence))
			a.Modality = ModalityAudiovisual
		}
		out = append(out, a)
	}
	for j, v := range video {
		if !usedVideo[j] {
			out = append(out, v)
		}
	}
	sortSegments(out)
	return out
}

// fusable reports whether an audio segment a and a video segment v are
// one audiovisual match: the same work, overlapping in the query, at
// offsets within avOffsetTolerance.
func fusable(a, v Segment) bool {
	return v.Work.Num == a.Work.Num &&
		a.QueryStart <= v.QueryEnd && v.QueryStart <= a.QueryEnd &&
		math.Abs((a.RefStart-a.QueryStart)-(v.RefStart-v.QueryStart)) <= avOffsetTolerance
}

// MatchMedia matches a media file's prints: the sound (Match), the
// picture (MatchVideo), the picture again where the sound alone found a
// work (confirmPicture), then Fuse. Either print may be nil.
func (m *Matcher) MatchMedia(ctx context.Context, q *fingerprint.MediaPrint) ([]Segment, error) {
	var audio, video []Segment
	var err error
	if q.Audio != nil && len(q.Audio.Peaks) > 0 {
		if audio, err = m.Match(ctx, q.Audio); err != nil {
			return nil, err
		}
	}
	if q.Video != nil && len(q.Video.Frames) > 0 {
		if video, err = m.MatchVideo(ctx, q.Video); err != nil {
			return nil, err
		}
		for _, a := range audio {
			if slices.ContainsFunc(video, func(v Segment) bool { return fusable(a, v) }) {
				continue
			}
			v, ok, err := m.confirmPicture(ctx, q.Video, a)
			if err != nil {
				return nil, err
			}
			if ok {
				video = append(video, v)
			}
		}
	}
	return Fuse(audio, video), nil
}

// confirmPicture checks the query's picture against the work of an audio
// segment a, at the times the sound aligned: it returns a video segment
// consistent with a when the query's frames inside a show the work's
// pictures at those times.
//
// The search of MatchVideo cannot place a still picture (cover art under
// a song, a title card, a fixed camera): it matches at every offset along
// the still, so no run counts as evidence of where the clip sits (see
// videoSegment). The sound can place it, and then the question is only
// whether the picture at that place is the work's: one comparison per
// frame, no search. An unrelated picture meets the work's at a given time
// at m.p.Video.NullRate per frame at most, so the confidence is the binomial
// tail of the distinct pictures matched, corrected only for the region
// families and the two orientations tried.
func (m *Matcher) confirmPicture(ctx context.Context, q *fingerprint.VideoPrint, a Segment) (Segment, bool, error) {
	if err := ctx.Err(); err != nil {
		return Segment{}, false, err
	}
	frames, err := m.store.VideoPrint(a.Work.Num)
	if errors.Is(err, index.ErrNotFound) || len(frames) == 0 {
		return Segment{}, false, nil
	}
	if err != nil {
		return Segment{}, false, fmt.Errorf("match video: %w", err)
	}
	ref := newVideoRef(frames, m.p.Video)
	fps := float64(m.store.VideoParams().FPS)
	speed := a.Speed
	if speed <= 0 {
		speed = 1
	}
	refOf := func(qi uint32) int64 {
		return int64(math.Round((a.RefStart + (float64(qi)/fps-a.QueryStart)*speed) * fps))
	}
	// The query's frames inside the audio segment.
	inside := &fingerprint.VideoPrint{Sampled: q.Sampled}
	for _, f := range q.Frames {
		if t := float64(f.Index) / fps; t >= a.QueryStart && t < a.QueryEnd {
			inside.Frames = append(inside.Frames, f)
		}
	}
	if len(inside.Frames) < m.p.Video.MinFrames {
		return Segment{}, false, nil
	}
	families := regionFamilies(m.store.VideoParams().QueryRegions, len(inside.Frames[0].Hashes))
	var best []uint32
	var bestNear map[uint32]int
	for _, mirror := range []bool{false, true} {
		mt, near, _ := ref.matchedAlong(inside, families, mirror, refOf)
		if len(mt) > len(best) {
			best, bestNear = mt, near
		}
	}
	// Most of the pictures must match, not a few: the sound already named
	// the work, the picture must show it for most of the time.
	if len(best) < m.p.Video.MinFrames || 2*len(best) < len(inside.Frames) {
		return Segment{}, false, nil
	}
	hit, strong := hitFrames(inside.Frames, best, bestNear, m.p.Video)
	if 2*len(strong) < len(hit) {
		return Segment{}, false, nil
	}
	n, k := effectiveFrames(inside.Frames, m.p.Video), effectiveFrames(hit, m.p.Video)
	p := binomialTail(n, k, m.p.Video.NullRate) * float64(2*len(families))
	conf := math.Max(0, 1-p)
	first, last := best[0], best[len(best)-1]
	qs, qe := float64(first)/fps, float64(last+1)/fps
	return Segment{
		Work:       a.Work,
		QueryStart: round3(qs), QueryEnd: round3(qe),
		RefStart: round3(float64(refOf(first)) / fps), RefEnd: round3(float64(refOf(first))/fps + (qe-qs)*speed),
		Score:      len(best),
		Confidence: round3(conf),
		Speed:      speed,
		Modality:   ModalityVideo,
	}, true, nil
}
