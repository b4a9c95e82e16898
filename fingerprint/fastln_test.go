package fingerprint

import (
	"math"
	"testing"
)

func TestFastLn(t *testing.T) {
	worst := 0.0
	for x := 1e-9; x < 1e9; x *= 1.0137 {
		d := math.Abs(float64(fastLn(float32(x))) - math.Log(x))
		if d > worst {
			worst = d
		}
	}
	if worst > 5e-4 {
		t.Fatalf("worst %g", worst)
	}
	t.Logf("worst abs error %g", worst)
}
