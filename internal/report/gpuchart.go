package report

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/llm-platform/harness/internal/chart"
)

// ChartGPU is the GPU utilisation timeline chart.
const ChartGPU = "gpu-util.svg"

// FileGPUTimeline is the GPU sampler's timeline in the report folder.
const FileGPUTimeline = "gpu.csv"

// gpuTimelineChart draws utilization.gpu over time, a line per device, with
// a mark where each cell began, from the sampler's gpu.csv (its columns:
// timestamp first, utilization.gpu second, index and cell by name). It
// returns nil when the file is absent, empty or unreadable: a missing chart
// must never cost the rest of the report.
func gpuTimelineChart(r io.Reader) *chart.Chart {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	ti, ui, di, ci := col["timestamp"], col["utilization.gpu [%]"], col["index"], col["cell"]
	if ui == 0 || di == 0 || ci == 0 {
		return nil
	}
	var t0 time.Time
	series := map[int]*chart.Line{}
	var order []int
	var marks []chart.Mark
	lastCell := ""
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if len(rec) <= max(ti, ui, di, ci) {
			continue
		}
		at, err := time.ParseInLocation("2006/01/02 15:04:05.000", rec[ti], time.Local)
		if err != nil {
			continue
		}
		if t0.IsZero() {
			t0 = at
		}
		x := at.Sub(t0).Seconds()
		if cell := rec[ci]; cell != lastCell {
			if cell != "" {
				marks = append(marks, chart.Mark{X: x, Label: cell})
			}
			lastCell = cell
		}
		dev, err := strconv.Atoi(rec[di])
		if err != nil {
			continue
		}
		util, err := strconv.ParseFloat(rec[ui], 64)
		if err != nil {
			continue // a missing sample: a gap, not a zero
		}
		s, ok := series[dev]
		if !ok {
			s = &chart.Line{Name: "GPU " + strconv.Itoa(dev), Color: len(order)}
			series[dev] = s
			order = append(order, dev)
		}
		s.Points = append(s.Points, chart.Point{X: x, Y: util})
	}
	if len(order) == 0 {
		return nil
	}
	c := &chart.Chart{Title: "GPU utilisation over time (utilization.gpu: a kernel was running)", XLabel: "seconds", XUnit: "s", YLabel: "%", Marks: marks, FixedYMax: 100}
	for _, d := range order {
		c.Series = append(c.Series, *series[d])
	}
	return c
}

// readGPUChart renders the GPU chart from dir's timeline, if there is one.
func readGPUChart(dir string) []byte {
	f, err := os.Open(filepath.Join(dir, FileGPUTimeline))
	if err != nil {
		return nil
	}
	defer f.Close()
	c := gpuTimelineChart(f)
	if c == nil {
		return nil
	}
	return c.SVG()
}
