package fingerprint

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPairsPerZone: with one target per sub-zone an anchor pairs with
// each sub-zone's strongest peak (the reference's pairs); with k it pairs
// with the k strongest, strongest first, ties to the earlier peak.
func TestPairsPerZone(t *testing.T) {
	p := DefaultAudioParams() // sub-zones of (48-2)/6 frames from dt 2
	peaks := []Peak{
		{Time: 0, Pitch: 10, Strength: 1},  // 0: anchor
		{Time: 3, Pitch: 11, Strength: 1},  // 1: zone 0
		{Time: 4, Pitch: 12, Strength: 3},  // 2: zone 0, strongest
		{Time: 5, Pitch: 13, Strength: 2},  // 3: zone 0, second
		{Time: 6, Pitch: 14, Strength: 2},  // 4: zone 0, ties with 3: third
		{Time: 12, Pitch: 9, Strength: 1},  // 5: zone 1, alone
		{Time: 13, Pitch: 40, Strength: 9}, // 6: too far in pitch
		{Time: 60, Pitch: 10, Strength: 9}, // 7: too late
	}
	collect := func(k int) [][2]int {
		var out [][2]int
		p.pairs(peaks, k, func(i, j int) {
			if i == 0 {
				out = append(out, [2]int{i, j})
			}
		})
		return out
	}
	assert.Equal(t, [][2]int{{0, 2}, {0, 5}}, collect(1))
	assert.Equal(t, [][2]int{{0, 2}, {0, 3}, {0, 5}}, collect(2))
	assert.Equal(t, [][2]int{{0, 2}, {0, 3}, {0, 4}, {0, 5}}, collect(3))

	var viaPairs [][2]int
	p.Pairs(peaks, func(i, j int) {
		if i == 0 {
			viaPairs = append(viaPairs, [2]int{i, j})
		}
	})
	assert.Equal(t, collect(1), viaPairs, "Pairs is one target per sub-zone")
}
