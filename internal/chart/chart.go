// Package chart draws the reports' SVG line charts: axes with round ticks, a
// line per series of points, dashed lines and marks (the knee).
// Deterministic for a given input, which the golden files rely on.
package chart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
)

// Point is one (x, y) of a chart series.
type Point struct{ X, Y float64 }

// Line is one line of a chart.
type Line struct {
	Name   string
	Points []Point
	// Color indexes the palette; Dashed draws a dashed line (a second
	// statistic of the same payload keeps its colour).
	Color  int
	Dashed bool
}

// Chart is a line chart rendered to a self-contained SVG: no scripts, no
// external fonts, deterministic output for golden tests.
type Chart struct {
	Title, XLabel, YLabel string
	// XUnit is the x values' unit in the marks' key ("s").
	XUnit  string
	Series []Line
	// LogX spaces the x axis by log2 (concurrency 1, 2, 4, 8, 16).
	LogX bool
	// Marks are labelled vertical lines (where each cell began).
	Marks []Mark
	// FixedYMax, when > 0, is the y axis' top (100 for percentages).
	FixedYMax float64
}

// Mark is a labelled vertical line at X.
type Mark struct {
	X     float64
	Label string
}

// Plot geometry, in SVG user units.
const (
	svgW, svgH             = 640, 360
	padL, padR, padT, padB = 64, 150, 36, 48
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
	yTicks                 = 5
	maxDots                = 50 // series longer than this are drawn without point markers
	maxXLabels             = 12 // more x values than this get round ticks instead
	markGap                = 10 // the least distance between two marks' numbers on the plot
	keyRow, keyCols        = 13, 2
	fontSize, titleSize    = 11, 14
)

// palette is colour-blind-safe (Okabe-Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceStep is a tick spacing of 1, 2 or 5 times a power of ten that cuts
// span into at most n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n < 1 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// xTicks are the labelled x values: every x when there are few (the
// concurrencies of a sweep), else evenly spaced round values across the
// range (a timeline's seconds).
func xTicks(xs []float64) []float64 {
	if len(xs) <= maxXLabels {
		return xs
	}
	lo, hi := xs[0], xs[len(xs)-1]
	step := niceStep(hi-lo, 8)
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

func num(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }

// plot maps data to the SVG's coordinates.
type plot struct {
	xs      []float64 // every point's x, sorted, once each
	ytop    float64
	px, py  func(float64) float64
	keyRows int // rows of the marks' key under the plot
}

// layout finds the chart's axes: its x values, the top of its y axis and
// the mapping of both onto the plot area.
func (c Chart) layout() plot {
	var xs []float64
	var ymax float64
	seen := map[float64]bool{}
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !seen[p.X] {
				seen[p.X] = true
				xs = append(xs, p.X)
			}
			ymax = max(ymax, p.Y)
		}
	}
	slices.Sort(xs)
	ytop := niceMax(ymax)
	if c.FixedYMax > 0 {
		ytop = c.FixedYMax
	}
	fx := func(x float64) float64 { return x }
	if c.LogX {
		fx = func(x float64) float64 { return math.Log2(max(x, 1e-9)) }
	}
	xmin, xmax := 0.0, 1.0
	if len(xs) > 0 {
		xmin, xmax = fx(xs[0]), fx(xs[len(xs)-1])
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	return plot{xs: xs, ytop: ytop,
		px:      func(x float64) float64 { return padL + (fx(x)-xmin)/(xmax-xmin)*plotW },
		py:      func(y float64) float64 { return padT + plotH - y/ytop*plotH },
		keyRows: (len(c.Marks) + keyCols - 1) / keyCols,
	}
}

// SVG renders the chart.
func (c Chart) SVG() []byte {
	p := c.layout()
	// The marks' key sits under the plot, so the SVG grows to hold it.
	height := svgH
	if p.keyRows > 0 {
		height += 8 + p.keyRows*keyRow
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n", svgW, height, svgW, height, fontSize)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgW, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="%d" font-weight="bold">%s</text>`+"\n", padL, titleSize, html.EscapeString(c.Title))
	c.writeAxes(&b, p)
	c.writeMarks(&b, p)
	c.writeSeries(&b, p)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// writeAxes draws the grid, the ticks, both axes and their labels.
func (c Chart) writeAxes(b *bytes.Buffer, p plot) {
	for i := 0; i <= yTicks; i++ {
		v := p.ytop * float64(i) / yTicks
		y := p.py(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#dddddd"/>`+"\n", padL, num(y), padL+plotW, num(y))
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", padL-6, num(y+4), num(v))
	}
	for _, x := range xTicks(p.xs) {
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", num(p.px(x)), padT+plotH+16, num(x))
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333"/>`+"\n", padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333"/>`+"\n", padL, padT, padL, padT+plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, svgH-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(b, `<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`+"\n", padT+plotH/2, padT+plotH/2, html.EscapeString(c.YLabel))
}

// writeMarks draws each mark as a numbered line; its label goes in the key
// under the plot, so neighbouring cells never overlap. A number too close
// to the previous one is left off the plot (the key still gives its time).
func (c Chart) writeMarks(b *bytes.Buffer, p plot) {
	lastNum := math.Inf(-1)
	for i, m := range c.Marks {
		x := p.px(m.X)
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#999999" stroke-dasharray="2 3"/>`+"\n", num(x), padT, num(x), padT+plotH)
		if x-lastNum >= markGap {
			fmt.Fprintf(b, `<text x="%s" y="%d" font-size="9" fill="#666666" text-anchor="middle">%d</text>`+"\n", num(x), padT-3, i+1)
			lastNum = x
		}
		col, row := i/p.keyRows, i%p.keyRows
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="9" fill="#666666">%d: %s, from %s %s</text>`+"\n", padL+col*(svgW-padL)/keyCols, svgH+8+row*keyRow,
			i+1, html.EscapeString(m.Label), num(m.X), html.EscapeString(c.XUnit))
	}
}

// writeSeries draws each series' line, its points (none for a timeline)
// and its entry in the legend.
func (c Chart) writeSeries(b *bytes.Buffer, p plot) {
	for i, s := range c.Series {
		col := palette[s.Color%len(palette)]
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts bytes.Buffer
		for j, pt := range s.Points {
			if j > 0 {
				pts.WriteByte(' ')
			}
			fmt.Fprintf(&pts, "%s,%s", num(p.px(pt.X)), num(p.py(pt.Y)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", col, dash, pts.String())
		for _, pt := range s.Points {
			if len(s.Points) > maxDots {
				break // a timeline: the line alone
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", num(p.px(pt.X)), num(p.py(pt.Y)), col)
		}
		ly := padT + 8 + i*18
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", padL+plotW+14, ly, padL+plotW+34, ly, col, dash)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", padL+plotW+40, ly+4, html.EscapeString(s.Name))
	}
}
