package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The benchmark's charts are drawn with gonum/plot: markers on every
// measured point (a quick run has one point a line), titled axes with
// units, and ticks at the measured values written with three significant
// digits. A family or a chart with no measured point is left out rather
// than drawn empty.

// maxValueTicks is how many measured x values are ticked at the values
// themselves; past it the labels would overlap, and round ticks are used.
const maxValueTicks = 5

// Chart sizes: one recall panel, and one scale panel.
const (
	panelW, panelH = 4 * vg.Inch, 3.2 * vg.Inch
)

// familyAxis names a condition family's x axis.
var familyAxis = map[string]string{
	"white":  "SNR, dB (white noise)",
	"pink":   "SNR, dB (pink noise)",
	"speech": "SNR, dB (speech over the music)",
	"music":  "SNR, dB (other music over it)",
	"speed":  "speed ratio (tempo + pitch)",
	"tempo":  "tempo ratio (same pitch)",
	"pitch":  "pitch ratio (same tempo)",
}

// charts draws recall against SNR and against speed change (a panel per
// family, a line per query length) and the scale sweep, as SVG files
// named for results.md.
func (r *Results) charts() (map[string][]byte, error) {
	out := map[string][]byte{}
	var snr, spd []string
	for _, f := range families(r.Conditions) {
		if len(r.recallPoints(f, r.Lengths)) == 0 {
			continue // no measured point: no empty panel
		}
		switch f {
		case "white", "pink", "speech", "music":
			snr = append(snr, f)
		default:
			spd = append(spd, f)
		}
	}
	for name, fams := range map[string][]string{"recall_snr.svg": snr, "recall_speed.svg": spd} {
		if len(fams) == 0 {
			continue
		}
		b, err := r.recallChart(fams)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", name, err)
		}
		out[name] = b
	}
	if len(r.Scale) > 0 {
		b, err := r.scaleChart()
		if err != nil {
			return nil, fmt.Errorf("chart scale.svg: %w", err)
		}
		out["scale.svg"] = b
	}
	return out, nil
}

// ChartNames returns the charts Write draws for these results, sorted.
func (r *Results) ChartNames() []string {
	charts, err := r.charts()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(charts))
	for n := range charts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// recallPoints returns, per query length, the (x, recall) points of a
// family, in x order; lengths with no point are absent.
func (r *Results) recallPoints(fam string, lengths []float64) map[float64]plotter.XYs {
	out := map[float64]plotter.XYs{}
	for _, l := range lengths {
		var xys plotter.XYs
		for _, c := range r.Conditions {
			if c.Family != fam {
				continue
			}
			if s, ok := r.stat(c.Name, l); ok {
				xys = append(xys, plotter.XY{X: c.X, Y: s.Recall})
			}
		}
		if len(xys) > 0 {
			slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			out[l] = xys
		}
	}
	return out
}

// recallChart draws one panel per family side by side.
func (r *Results) recallChart(fams []string) ([]byte, error) {
	row := make([]*plot.Plot, len(fams))
	for i, f := range fams {
		p := plot.New()
		p.Title.Text = "Top-1 recall: " + f
		p.X.Label.Text = familyAxis[f]
		if p.X.Label.Text == "" {
			p.X.Label.Text = f
		}
		p.Y.Label.Text = "top-1 recall"
		p.Y.Min, p.Y.Max = 0, 1.05
		p.Y.Tick.Marker = plot.ConstantTicks(fixedTicks(0, 0.25, 0.5, 0.75, 1))
		p.Add(plotter.NewGrid())
		pts := r.recallPoints(f, r.Lengths)
		var xs []float64
		for i, l := range r.Lengths {
			xys, ok := pts[l]
			if !ok {
				continue
			}
			if err := addLine(p, xys, i, fmt.Sprintf("%g s queries", l)); err != nil {
				return nil, err
			}
			for _, xy := range xys {
				if !slices.Contains(xs, xy.X) {
					xs = append(xs, xy.X)
				}
			}
		}
		slices.Sort(xs)
		if len(xs) <= maxValueTicks {
			p.X.Tick.Marker = plot.ConstantTicks(fixedTicks(xs...))
		} // more would overlap: the default ticks, round values

		padRange(&p.X, xs, false)
		p.Legend.Top, p.Legend.Left = false, false // high SNR and ratio 1 sit top and middle
		p.Legend.ThumbnailWidth = 0.4 * vg.Centimeter
		row[i] = p
	}
	return drawRow(row)
}

// scaleChart draws match latency (p50, p99) and recall against the works
// in the store, both on a log axis of works.
func (r *Results) scaleChart() ([]byte, error) {
	var works []float64
	p50, p99, rec := plotter.XYs{}, plotter.XYs{}, plotter.XYs{}
	var lat []float64
	for _, s := range r.Scale {
		w := float64(s.Works)
		works = append(works, w)
		p50 = append(p50, plotter.XY{X: w, Y: max(s.MatchP50MS, 0.01)})
		p99 = append(p99, plotter.XY{X: w, Y: max(s.MatchP99MS, 0.01)})
		rec = append(rec, plotter.XY{X: w, Y: s.Recall})
		lat = append(lat, max(s.MatchP50MS, 0.01), max(s.MatchP99MS, 0.01))
	}
	xTicks := plot.ConstantTicks(countTicks(works))

	latency := plot.New()
	latency.Title.Text = "Match latency against catalogue size"
	latency.X.Label.Text = "works in the store (log)"
	latency.Y.Label.Text = "latency of a 10 s query, ms (log)"
	latency.X.Scale, latency.Y.Scale = plot.LogScale{}, plot.LogScale{}
	latency.X.Tick.Marker = xTicks
	latency.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	latency.Add(plotter.NewGrid())
	if err := addLine(latency, p50, 0, "median"); err != nil {
		return nil, err
	}
	if err := addLine(latency, p99, 1, "p99"); err != nil {
		return nil, err
	}
	padRange(&latency.X, works, true)
	padRange(&latency.Y, lat, true)
	latency.Legend.Top, latency.Legend.Left = false, false

	recall := plot.New()
	recall.Title.Text = "Recall against catalogue size"
	recall.X.Label.Text = "works in the store (log)"
	recall.Y.Label.Text = "top-1 recall (10 s queries)"
	recall.X.Scale = plot.LogScale{}
	recall.X.Tick.Marker = xTicks
	recall.Y.Min, recall.Y.Max = 0, 1.05
	recall.Y.Tick.Marker = plot.ConstantTicks(fixedTicks(0, 0.25, 0.5, 0.75, 1))
	recall.Add(plotter.NewGrid())
	if err := addLine(recall, rec, 2, "recall"); err != nil {
		return nil, err
	}
	padRange(&recall.X, works, true)
	recall.Legend.Top, recall.Legend.Left = false, true
	return drawRow([]*plot.Plot{latency, recall})
}

// addLine adds a line with a marker on every point, styled by its index.
func addLine(p *plot.Plot, xys plotter.XYs, i int, name string) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	c := plotutil.Color(i)
	l.Color, l.Width = c, vg.Points(1.5)
	pts.Color, pts.Shape, pts.Radius = c, plotutil.Shape(i), vg.Points(3)
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

// padRange sets an axis' range to the values with a margin, and a usable
// range around a single value (one point would give an empty span).
func padRange(a *plot.Axis, vs []float64, logScale bool) {
	if len(vs) == 0 {
		return
	}
	lo, hi := slices.Min(vs), slices.Max(vs)
	if logScale {
		lo, hi = lo/1.5, hi*1.5
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
	} else {
		span := hi - lo
		if span == 0 {
			span = math.Max(math.Abs(lo)*0.1, 1)
		}
		lo, hi = lo-span*0.08, hi+span*0.08
	}
	a.Min, a.Max = lo, hi
}

// fixedTicks labels ticks at vs with three significant digits.
func fixedTicks(vs ...float64) []plot.Tick {
	ticks := make([]plot.Tick, len(vs))
	for i, v := range vs {
		ticks[i] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)}
	}
	return ticks
}

// countTicks labels ticks at counts of works: 1200, 35k, 1.2M.
func countTicks(vs []float64) []plot.Tick {
	ticks := make([]plot.Tick, len(vs))
	for i, v := range vs {
		label := strconv.FormatFloat(v, 'f', 0, 64)
		switch {
		case v >= 1e6:
			label = strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
		case v >= 1e4:
			label = strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
		}
		ticks[i] = plot.Tick{Value: v, Label: label}
	}
	return ticks
}

// drawRow draws plots side by side into one SVG on a white background.
func drawRow(row []*plot.Plot) ([]byte, error) {
	img := vgsvg.New(vg.Length(len(row))*panelW, panelH)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	for j, p := range row {
		p.Draw(tiles.At(dc, j, 0))
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
