package gpu

import (
	"context"
	"errors"
	"testing"
	"time"
)

// pacedSource is a hand-written Paced source: the test collects readings
// (collect), each read until the next; readings hold util 10·k %, power
// 100 W and an energy counter of 1000·k J.
type pacedSource struct {
	k    int
	seen []time.Time
	// next makes Await's wait end with a new reading, as the exporter's
	// next collection would.
	next bool
}

func (p *pacedSource) Devices() []Device { return []Device{{Index: 0, UUID: "GPU-p", Source: "dcgm"}} }
func (p *pacedSource) Sample(_ int, s *Sample) {
	s.Time = p.seen[p.k]
	s.UtilGPU, s.PowerW, s.EnergyJ = float64(10*p.k), 100, float64(1000*p.k)
	s.Missing = s.Read &^ (UtilGPU | Power | Energy)
}
func (p *pacedSource) Close() error            { return nil }
func (p *pacedSource) Interval() time.Duration { return 2 * time.Second }
func (p *pacedSource) Await(ctx context.Context, t time.Time) error {
	if p.next {
		p.collect(time.Now(), 0)
		return nil
	}
	return errors.New("no reading after the cell")
}

// collect makes the next reading, seen at the given offset from base.
func (p *pacedSource) collect(base time.Time, at time.Duration) {
	p.seen = append(p.seen, base.Add(at))
	p.k = len(p.seen) - 1
}

// Each reading is folded once however often it is sampled; the readings
// during the cell are counted, and the energy is the delta between the
// reading in force at the start and the first after the end.
func TestPacedCell(t *testing.T) {
	base := time.Now().Add(-time.Hour)
	p := &pacedSource{}
	p.collect(base, 0) // in force before the cell
	s, err := NewSampler(p, DefaultInterval, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.round(AllFields, false) // the timeline's round before the cell: seen once
	s.BeginCell("c")
	for i := 1; i <= 3; i++ {
		p.collect(time.Now(), 0) // three readings during the cell, each sampled twice
		s.round(AllFields, false)
		s.round(AllFields, false)
		time.Sleep(time.Millisecond)
	}
	p.next = true // the first reading after the end comes while EndCell waits
	w := s.EndCell()
	d := w.Devices[0]
	if w.Readings != 3 || w.TooCoarse || w.IntervalS != 2 || w.Source != "dcgm" {
		t.Errorf("readings %d, too coarse %v, interval %v, source %q", w.Readings, w.TooCoarse, w.IntervalS, w.Source)
	}
	if d.Samples != 5 || d.EnergyJ != 4000 || d.EnergyMethod != "counter between readings" || d.UtilAvg != 20 || d.UtilMax != 40 {
		t.Errorf("device %+v", d)
	}
	if w.EnergySpanS < 3599 {
		t.Errorf("energy span %v s: from the reading an hour before the cell to the one after it", w.EnergySpanS)
	}

	// No reading after the end: the counter's delta does not hold the cell.
	p.next = false
	s.BeginCell("d")
	w = s.EndCell()
	if d := w.Devices[0]; d.EnergyMethod != "none" || d.EnergyJ != 0 || w.EnergySpanS != 0 || w.Readings != 0 || !w.TooCoarse {
		t.Errorf("unbracketed: %+v %+v", w, d)
	}
}
