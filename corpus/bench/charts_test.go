package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/eval"
)

// smallResults is a quick run's shape: one speed and one pitch point, a
// SNR sweep with a length missing at one point, two scale steps.
func smallResults() *Results {
	r := &Results{Lengths: []float64{3, 10}}
	add := func(name, fam string, x float64, recall ...float64) {
		r.Conditions = append(r.Conditions, Condition{Family: fam, X: x})
		r.Conditions[len(r.Conditions)-1].Name = name
		for i, rc := range recall {
			if !math.IsNaN(rc) {
				r.Positives = append(r.Positives, eval.Stats{Group: name + "/" + []string{"3", "10"}[i] + "s", Recall: rc})
			}
		}
	}
	add("clean", "", 0, 1, 1)
	add("white-0dB", "white", 0, 0.4, 0.8)
	add("white-5dB", "white", 5, math.NaN(), 0.95)
	add("white-10dB", "white", 10, 0.9, 1)
	add("speed-1.05", "speed", 1.05, 0.7, 0.9)
	add("pitch+100c", "pitch", math.Pow(2, 100.0/1200), 0.6, 0.85)
	add("tempo-none", "tempo", 1.1) // a family with no measured point
	r.Scale = []ScaleStep{{Works: 1200, MatchP50MS: 17, MatchP99MS: 40, Recall: 0.99}, {Works: 35000, MatchP50MS: 2200, MatchP99MS: 5100, Recall: 0.97}}
	return r
}

// svgText parses an SVG and returns its text elements' contents and the
// number of drawn paths; it fails on malformed XML.
func svgText(t *testing.T, b []byte) (texts []string, paths int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	inText := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "well-formed SVG")
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
			if el.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			if inText && strings.TrimSpace(string(el)) != "" {
				texts = append(texts, strings.TrimSpace(string(el)))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return texts, paths
}

func TestChartsRender(t *testing.T) {
	r := smallResults()
	charts, err := r.charts()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"recall_snr.svg", "recall_speed.svg", "scale.svg"}, keysOf(charts))

	for _, tc := range []struct {
		name      string
		want      []string // texts that must be drawn: titles, axis titles, ticks, legend
		notWanted []string
		minPaths  int // lines, markers, axes
	}{
		{"recall_snr.svg", []string{"Top-1 recall: white", "SNR, dB (white noise)", "top-1 recall", "3 s queries", "10 s queries", "0", "5", "10", "0.5"}, nil, 10},
		{"recall_speed.svg", []string{"Top-1 recall: speed", "Top-1 recall: pitch", "speed ratio (tempo + pitch)", "1.05", "1.06"},
			[]string{"1.0594630943592953", "Top-1 recall: tempo"}, 10},
		{"scale.svg", []string{"works in the store (log)", "latency of a 10 s query, ms (log)", "top-1 recall (10 s queries)", "1200", "35k", "median", "p99"}, nil, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			texts, paths := svgText(t, charts[tc.name])
			for _, w := range tc.want {
				assert.Contains(t, texts, w)
			}
			for _, w := range tc.notWanted {
				for _, tx := range texts {
					assert.NotContains(t, tx, w)
				}
			}
			assert.GreaterOrEqual(t, paths, tc.minPaths, "lines and markers drawn")
			if os.Getenv("CUEPRINT_CHARTS_OUT") != "" {
				require.NoError(t, os.WriteFile(filepath.Join(os.Getenv("CUEPRINT_CHARTS_OUT"), tc.name), charts[tc.name], 0o644))
			}
		})
	}

	// Nothing measured: no chart rather than an empty one.
	none, err := (&Results{Lengths: []float64{10}, Conditions: []Condition{{Family: "speed", X: 1.05}}}).charts()
	require.NoError(t, err)
	assert.Empty(t, none)
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
