package match

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/index"
)

func seg(num uint32, qs, qe, rs float64, score int, modality string) Segment {
	return Segment{Work: index.Work{Num: num}, QueryStart: qs, QueryEnd: qe, RefStart: rs, RefEnd: rs + qe - qs,
		Score: score, Confidence: 0.9, Speed: 1, Modality: modality}
}

func TestMergeVideoSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		open []Segment
		g    Segment
		want []Segment
	}{
		{"overlapping windows, same offset: one segment",
			[]Segment{seg(1, 10, 18, 40, 40, "video")}, seg(1, 15, 25, 45, 50, "video"),
			[]Segment{seg(1, 10, 25, 40, 50, "video")}},
		{"another work: apart",
			[]Segment{seg(1, 10, 18, 40, 40, "video")}, seg(2, 15, 25, 45, 50, "video"),
			[]Segment{seg(1, 10, 18, 40, 40, "video"), seg(2, 15, 25, 45, 50, "video")}},
		{"same work, same seconds, other offset: the better stays",
			[]Segment{seg(1, 10, 18, 40, 40, "video")}, seg(1, 10, 18, 52, 45, "video"),
			[]Segment{seg(1, 10, 18, 52, 45, "video")}},
		{"same work later at another offset (a repeat): apart",
			[]Segment{seg(1, 10, 18, 40, 40, "video")}, seg(1, 30, 38, 40, 45, "video"),
			[]Segment{seg(1, 10, 18, 40, 40, "video"), seg(1, 30, 38, 40, 45, "video")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeVideoSegment(append([]Segment(nil), tc.open...), tc.g, videoStreamJoinS)
			for i := range got {
				got[i].Confidence = 0.9
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestStreamFuser(t *testing.T) {
	inf := math.Inf(1)
	t.Run("a video segment waits for the sound, then fuses", func(t *testing.T) {
		var f StreamFuser
		assert.Empty(t, f.Video([]Segment{seg(1, 10, 20, 30, 50, "video")}, 21, 21))
		assert.Empty(t, f.Audio(nil, 15, 8), "the sound may still return a segment over 10-20")
		got := f.Audio([]Segment{seg(1, 9.5, 20.5, 29.5, 300, "")}, 40, 40)
		require.Len(t, got, 1)
		assert.Equal(t, ModalityAudiovisual, got[0].Modality)
		assert.InDelta(t, 9.5, got[0].QueryStart, 1e-9)
		assert.InDelta(t, 0.99, got[0].Confidence, 1e-9)
		assert.Empty(t, f.AudioDone())
		assert.Empty(t, f.VideoDone())
	})
	t.Run("no picture: sound segments pass at once", func(t *testing.T) {
		var f StreamFuser
		assert.Empty(t, f.VideoDone())
		got := f.Audio([]Segment{seg(2, 0, 10, 5, 100, "")}, 1, 1)
		require.Len(t, got, 1)
		assert.Equal(t, ModalityAudio, got[0].Modality)
	})
	t.Run("a segment held to the end comes out when both are done", func(t *testing.T) {
		var f StreamFuser
		assert.Empty(t, f.Video([]Segment{seg(3, 0, 10, 0, 50, "video")}, inf, inf))
		assert.Empty(t, f.VideoDone())
		got := f.AudioDone()
		require.Len(t, got, 1)
		assert.Equal(t, ModalityVideo, got[0].Modality)
	})
}
