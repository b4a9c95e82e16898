package match

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// vp are the default picture-matching parameters the helpers are tested with.
var vp = DefaultVideoParams()

func TestVideoRuns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		matched []uint32
		want    [][]uint32
	}{
		{"one run", []uint32{3, 4, 5, 7}, [][]uint32{{3, 4, 5, 7}}},
		{"gap splits", []uint32{0, 1, 2, 40, 41, 42}, [][]uint32{{0, 1, 2}, {40, 41, 42}}},
		{"lone edge matches trimmed", []uint32{0, 10, 11, 12, 13, 20}, [][]uint32{{10, 11, 12, 13}}},
		{"single", []uint32{9}, [][]uint32{{9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, videoRuns(tc.matched, vp))
		})
	}
}

func TestTrimWeak(t *testing.T) {
	near := map[uint32]int{1: 16, 3: 15, 10: 4, 11: 14, 12: 2, 14: 16, 20: 15}
	assert.Equal(t, []uint32{10, 11, 12, 14}, trimWeak([]uint32{1, 3, 10, 11, 12, 14, 20}, near, vp),
		"weak matches apart from the close ones go, weak ones among them stay")
	assert.Equal(t, []uint32{3, 10, 11, 12}, trimWeak([]uint32{3, 10, 11, 12}, map[uint32]int{3: 2, 10: 4, 11: 14, 12: 2}, vp))
	assert.Empty(t, trimWeak([]uint32{1, 3}, near, vp), "no close match at all")
}

func TestExtendFlat(t *testing.T) {
	// Reference: frames 0-4 flat (absent), 5-19 pictures, 20-24 flat
	// (past the print's end, inside the work).
	ref := &videoRef{vp: DefaultVideoParams(), len: 20, at: make([][]uint64, 20)}
	for i := 5; i < 20; i++ {
		ref.at[i] = []uint64{uint64(i)}
	}
	flat := func(n int, idx ...int) []bool {
		f := make([]bool, n)
		for _, i := range idx {
			f[i] = true
		}
		return f
	}
	for _, tc := range []struct {
		name        string
		qFlat       []bool
		first, last uint32
		off         int64
		wantF       uint32
		wantL       uint32
	}{
		{"dark opening and fade-out facing the work's own", flat(30, 0, 1, 2, 3, 4, 20, 21, 22), 5, 19, 0, 0, 22},
		{"query flat where the work has a picture", flat(30, 8, 9), 10, 19, 0, 10, 19},
		{"picture where the work is flat", flat(30), 5, 19, 0, 5, 19},
		{"offset: the query's black starts later", flat(40, 10, 11, 12, 13, 14), 15, 29, -10, 10, 29},
		{"never before the work's start", flat(30, 0, 1, 2, 3), 4, 10, -2, 2, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l := extendFlat(tc.qFlat, ref, 25, tc.first, tc.last, tc.off, vp)
			assert.Equal(t, tc.wantF, f, "first")
			assert.Equal(t, tc.wantL, l, "last")
		})
	}
}

func TestDropShadowed(t *testing.T) {
	seg := func(num uint32, qs, qe float64, score int) Segment {
		return Segment{Work: index.Work{Num: num}, QueryStart: qs, QueryEnd: qe, Score: score}
	}
	strong := seg(1, 0, 10, 50)
	for _, tc := range []struct {
		name string
		in   []Segment
		want []Segment
	}{
		{"weaker work inside a stronger one", []Segment{strong, seg(2, 3, 6, 5)}, []Segment{strong}},
		{"works side by side", []Segment{strong, seg(2, 10, 20, 5)}, []Segment{strong, seg(2, 10, 20, 5)}},
		{"small overlap kept", []Segment{strong, seg(2, 8, 20, 30)}, []Segment{strong, seg(2, 8, 20, 30)}},
		{"same work never shadows itself", []Segment{strong, seg(1, 2, 4, 5)}, []Segment{strong, seg(1, 2, 4, 5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dropShadowed(tc.in, vp))
		})
	}
}

func TestDropOverlapping(t *testing.T) {
	seg := func(num uint32, qs, qe, rs float64, score int) Segment {
		return Segment{Work: index.Work{Num: num}, QueryStart: qs, QueryEnd: qe, RefStart: rs, Score: score}
	}
	for _, tc := range []struct {
		name string
		in   []Segment
		want []Segment
	}{
		{"better alignment voted second", []Segment{seg(1, 3.8, 10, 19, 31), seg(1, 0, 10, 13.6, 45)}, []Segment{seg(1, 0, 10, 13.6, 45)}},
		{"tie: first voted kept", []Segment{seg(1, 0, 5, 10, 20), seg(1, 1, 6, 30, 20)}, []Segment{seg(1, 0, 5, 10, 20)}},
		{"same work, apart in the query", []Segment{seg(1, 0, 5, 10, 20), seg(1, 5, 10, 30, 25)}, []Segment{seg(1, 5, 10, 30, 25), seg(1, 0, 5, 10, 20)}},
		{"other works untouched", []Segment{seg(1, 0, 10, 10, 20), seg(2, 0, 10, 30, 40)}, []Segment{seg(2, 0, 10, 30, 40), seg(1, 0, 10, 10, 20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dropOverlapping(tc.in))
		})
	}
}

func TestRegionFamilies(t *testing.T) {
	regions := fingerprint.DefaultQueryRegions()
	fams := regionFamilies(regions, len(regions))
	assert.Equal(t, []int{0, 1, 2}, fams[0], "the centred regions are one family")
	assert.Equal(t, []int{11, 12}, fams[1], "the masked centred regions another")
	assert.Len(t, fams, 2+8)
	for _, f := range fams[2:] {
		assert.Len(t, f, 1, "each off-centre region its own")
	}
	assert.Equal(t, [][]int{{0, 1}}, regionFamilies(regions, 2), "hashes the parameters do not describe: one family")
}

func TestBinomialTail(t *testing.T) {
	assert.Equal(t, 1.0, binomialTail(10, 0, 0.02))
	assert.Equal(t, 0.0, binomialTail(3, 4, 0.02))
	assert.InDelta(t, 0.02*0.02*0.02, binomialTail(3, 3, 0.02), 1e-12)
	assert.InDelta(t, 1-0.98*0.98, binomialTail(2, 1, 0.02), 1e-12)
}

func TestFramesAt(t *testing.T) {
	// Reference: frames 0-9 one still picture, 10-14 flat, 15-19 each a
	// new picture (hashes 16 bits apart).
	ref := &videoRef{vp: DefaultVideoParams(), len: 20, at: make([][]uint64, 20)}
	for i := 0; i < 10; i++ {
		ref.at[i] = []uint64{0xffff}
	}
	for i := 15; i < 20; i++ {
		ref.at[i] = []uint64{uint64(0xffff) << (16 * (i % 4))}
	}
	query := func(idx ...uint32) []fingerprint.VideoFrameHashes {
		var fs []fingerprint.VideoFrameHashes
		for _, i := range idx {
			fs = append(fs, fingerprint.VideoFrameHashes{Index: i, Hashes: []uint64{uint64(i)}})
		}
		return fs
	}
	got := ref.framesAt(query(0, 1, 2, 5, 8, 12, 30), 2)
	var idx []uint32
	for _, f := range got {
		idx = append(idx, f.Index)
	}
	assert.Equal(t, []uint32{2, 3, 4, 7}, idx, "offset applied; flat and out-of-range frames skipped")
	assert.Equal(t, 1, effectiveFrames(ref.framesAt(query(0, 1, 2, 3, 4, 5, 6), 0), vp), "a still shot is one picture")
	assert.Equal(t, 5, effectiveFrames(ref.framesAt(query(0, 1, 2, 3, 4), 15), vp), "a new picture each frame counts each")
}

func TestPlacedNowhere(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fams := [][]int{{0}}
	build := func(hash func(i int) uint64) *videoRef {
		ref := &videoRef{vp: DefaultVideoParams(), len: 100, at: make([][]uint64, 100)}
		for i := range ref.at {
			ref.at[i] = []uint64{hash(i)}
		}
		return ref
	}
	// The query: reference frames 20-69, each with two bits flipped.
	query := func(ref *videoRef) *fingerprint.VideoPrint {
		q := &fingerprint.VideoPrint{Sampled: 50}
		for i := range 50 {
			h := ref.at[i+20][0] ^ 1<<rng.IntN(32) ^ 1<<(32+rng.IntN(32))
			q.Frames = append(q.Frames, fingerprint.VideoFrameHashes{Index: uint32(i), Hashes: []uint64{h}})
		}
		return q
	}
	random := make([]uint64, 100)
	for i := range random {
		random[i] = rng.Uint64()
	}
	var drift uint64 = rng.Uint64()
	slow := make([]uint64, 100)
	for i := range slow {
		drift ^= 1 << (i % 64) // one bit more each frame
		slow[i] = drift
	}
	still := rng.Uint64()
	for _, tc := range []struct {
		name string
		ref  *videoRef
		want bool
	}{
		{"moving pictures", build(func(i int) uint64 { return random[i] }), false},
		{"a slow scene, placed by its distances", build(func(i int) uint64 { return slow[i] }), false},
		{"a still shot", build(func(int) uint64 { return still }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := query(tc.ref)
			mt, _, dist := tc.ref.matched(q, fams, false, 20)
			require.Len(t, mt, 50)
			assert.Equal(t, tc.want, tc.ref.placedNowhere(q, fams, false, 20, len(mt), dist))
		})
	}
}
