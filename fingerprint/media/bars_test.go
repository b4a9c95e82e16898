package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSymmetricBars(t *testing.T) {
	for _, tc := range []struct {
		name           string
		x1, x2, y1, y2 int
		want           Rect
	}{
		{"no border", 0, 95, 0, 95, Rect{0, 0, 96, 96}},
		{"letterbox", 0, 95, 12, 83, Rect{0, 12, 96, 72}},
		{"pillarbox", 10, 85, 0, 95, Rect{10, 0, 76, 96}},
		{"dark sky over a bright ground is not a bar", 0, 95, 30, 95, Rect{0, 0, 96, 96}},
		{"letterbox with a dark top: the thinner bar", 0, 95, 20, 83, Rect{0, 12, 96, 72}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, symmetricBars(96, 96, tc.x1, tc.x2, tc.y1, tc.y2))
		})
	}
}
