package gpu

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSource is a hand-written Source: each device's figures come from a
// function of the sample number, so tests know every value.
type fakeSource struct {
	mu     sync.Mutex
	devs   []Device
	n      []int
	fill   func(dev, n int, s *Sample)
	closed bool
}

func (f *fakeSource) Devices() []Device { return f.devs }
func (f *fakeSource) Sample(i int, s *Sample) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fill(i, f.n[i], s)
	f.n[i]++
}
func (f *fakeSource) Close() error { f.closed = true; return nil }

func newFake(devices int, fill func(dev, n int, s *Sample)) *fakeSource {
	f := &fakeSource{n: make([]int, devices), fill: fill}
	for i := range devices {
		f.devs = append(f.devs, Device{Index: i, Name: "Fake", UUID: "GPU-" + string(rune('a'+i))})
	}
	return f
}

// steady: device d reads utilisation 50+10d, power 100 W, energy rising
// 100 J per sample, memory rising 1 GiB per sample.
func steady(d, n int, s *Sample) {
	s.UtilGPU, s.UtilMem = float64(50+10*d), 20
	s.MemUsedMiB, s.MemTotalMiB = float64(1024*(n+1)), 81920
	s.PowerW, s.EnergyJ = 100, float64(1000+100*n)
	s.TempC, s.SMClockMHz = float64(60+n), 1500
	s.Missing = SMActivity | TensorActivity
}

// runCell brackets k timed rounds in a cell, sampling by hand.
func runCell(s *Sampler, k int) Window {
	s.BeginCell("c")
	for range k {
		s.round(AllFields&^Energy, false)
	}
	return s.EndCell()
}

func TestWindowMultipleDevices(t *testing.T) {
	src := newFake(2, steady)
	var csv bytes.Buffer
	s, err := NewSampler(src, DefaultInterval, NewTimeline(&csv))
	if err != nil {
		t.Fatal(err)
	}
	c := runCell(s, 3) // 5 samples per device: begin, 3, end
	if len(c.Devices) != 2 {
		t.Fatalf("%d devices", len(c.Devices))
	}
	d0, d1 := c.Devices[0], c.Devices[1]
	if d0.Samples != 5 || d0.UtilAvg != 50 || d1.UtilAvg != 60 || d0.MemUsedMax != 5*1024 || d0.PowerAvg != 100 ||
		d0.TempMax != 64 || d0.SMClockAvg != 1500 || d0.Throttled || d0.SMActivityAvg != nil {
		t.Errorf("device 0: %+v", d0)
	}
	// The counter moved 100 J per sample: read at the first and fifth.
	if d0.EnergyJ != 400 || d0.EnergyMethod != "counter" {
		t.Errorf("energy %v by %s", d0.EnergyJ, d0.EnergyMethod)
	}
	if c.UtilAvg != 55 || c.EnergyJ != 800 || c.MemUsedMax != 10*1024 || c.PowerAvg != 200 {
		t.Errorf("cell totals %+v", c)
	}
	if err := s.Stop(); err != nil || !src.closed {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if !strings.HasPrefix(lines[0], "timestamp, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W], index") {
		t.Errorf("header %q", lines[0])
	}
	if len(lines) != 1+10 || !strings.HasSuffix(lines[1], ", c") || !strings.Contains(lines[1], ", 50, 20, 1024, 81920, 60, 100.00, 0, GPU-a, 1000.000, 1500, ") {
		t.Errorf("%d lines; first row %q", len(lines), lines[1])
	}
}

func TestEnergyFallbackToPowerIntegral(t *testing.T) {
	src := newFake(1, func(d, n int, s *Sample) {
		steady(d, n, s)
		s.Missing |= Energy
	})
	s, _ := NewSampler(src, DefaultInterval, nil)
	outer := time.Now()
	s.BeginCell("c")
	inner := time.Now()
	time.Sleep(20 * time.Millisecond) // the integral needs time between samples; this is the quantity under test
	innerEnd := time.Now()
	st := s.EndCell()
	outerEnd := time.Now()
	d := st.Devices[0]
	// 100 W over the time between the cell's two samples, which lies
	// between the span inside the calls and the span around them, however
	// long the machine made the sleep (energy is kept to 0.01 J).
	lo, hi := 100*innerEnd.Sub(inner).Seconds()-0.005, 100*outerEnd.Sub(outer).Seconds()+0.005
	if d.EnergyMethod != "power integral" || d.EnergyJ < lo || d.EnergyJ > hi || !strings.Contains(strings.Join(d.Missing, ","), "total energy") {
		t.Errorf("energy %v J by %s (want between %.3f and %.3f J), missing %v", d.EnergyJ, d.EnergyMethod, lo, hi, d.Missing)
	}
	_ = s.Stop()
}

func TestUnsupportedFieldsDegradeOnlyThemselves(t *testing.T) {
	src := newFake(1, func(d, n int, s *Sample) {
		steady(d, n, s)
		s.Missing |= Temp | SMClock | Throttle
	})
	s, _ := NewSampler(src, DefaultInterval, nil)
	d := runCell(s, 2).Devices[0]
	if d.UtilAvg != 50 || d.PowerAvg != 100 || d.TempMax != 0 || d.SMClockAvg != 0 ||
		strings.Join(d.Missing, ",") != "temperature.gpu,clocks.sm,clock event reasons,SM activity (GPM),tensor activity (GPM)" {
		t.Errorf("%+v", d)
	}
	_ = s.Stop()
}

func TestGPUFiguresAndThrottle(t *testing.T) {
	src := newFake(1, func(d, n int, s *Sample) {
		steady(d, n, s)
		s.Missing = 0
		s.SMActivity, s.TensorActivity = float64(40+n), 10
		if n == 2 {
			s.Throttle = ReasonHwThermalSlowdown | ReasonGpuIdle
		}
	})
	s, _ := NewSampler(src, DefaultInterval, nil)
	d := runCell(s, 2).Devices[0]
	if d.SMActivityAvg == nil || *d.SMActivityAvg != 41.5 || d.TensorActivityAvg == nil || *d.TensorActivityAvg != 10 {
		t.Errorf("GPM averages %v %v", d.SMActivityAvg, d.TensorActivityAvg)
	}
	if !d.Throttled || strings.Join(d.ThrottleReasons, ",") != "hw_thermal_slowdown" {
		t.Errorf("throttle %v %v", d.Throttled, d.ThrottleReasons)
	}
	_ = s.Stop()
	idle := newFake(1, func(d, n int, s *Sample) { steady(d, n, s); s.Throttle = ReasonGpuIdle })
	s, _ = NewSampler(idle, DefaultInterval, nil)
	if d := runCell(s, 1).Devices[0]; d.Throttled {
		t.Error("an idle GPU counted as throttled")
	}
	_ = s.Stop()
}

func TestLostMidCell(t *testing.T) {
	src := newFake(2, func(d, n int, s *Sample) {
		steady(d, n, s)
		if d == 1 && n >= 2 {
			s.Lost, s.Missing = true, ^Field(0)
		}
	})
	var csv bytes.Buffer
	s, _ := NewSampler(src, DefaultInterval, NewTimeline(&csv))
	c := runCell(s, 3)
	if c.Devices[0].Lost || !c.Devices[1].Lost || c.Devices[1].EnergyMethod != "power integral" || c.Devices[0].EnergyJ != 400 {
		t.Errorf("%+v", c.Devices)
	}
	_ = s.Stop()
	if !strings.Contains(csv.String(), ", , , , , , , 1, GPU-b, , , , , , c") {
		t.Errorf("lost rows are not empty:\n%s", csv.String())
	}
}

func TestBackgroundSampling(t *testing.T) {
	src := newFake(1, steady)
	s, _ := NewSampler(src, MinInterval, nil)
	s.Start(context.Background())
	s.BeginCell("c")
	deadline := time.Now().Add(5 * time.Second)
	for {
		src.mu.Lock()
		n := src.n[0]
		src.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sampler did not sample in the background")
		}
		time.Sleep(10 * time.Millisecond) // polling the fake's counter
	}
	if c := s.EndCell(); c.Devices[0].Samples < 3 {
		t.Errorf("%d samples", c.Devices[0].Samples)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSampler(src, 50*time.Millisecond, nil); err == nil {
		t.Error("a 50 ms interval: want an error")
	}
}

func TestStatsJSONNames(t *testing.T) {
	s, _ := NewSampler(newFake(1, steady), DefaultInterval, nil)
	b, _ := json.Marshal(runCell(s, 1))
	for _, k := range []string{`"utilization_avg_pct"`, `"memory_used_max_mib"`, `"power_avg_w"`, `"energy_j"`, `"joules_per_output_token"`,
		`"temperature_max_c"`, `"sm_clock_avg_mhz"`, `"throttled"`, `"sm_activity_avg_pct":null`, `"energy_method":"counter"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	_ = s.Stop()
}

// BenchmarkRound is the sampler's own CPU per round of 8 devices (the
// fake source costs nothing; NVML's share is measured on a GPU machine).
func BenchmarkRound(b *testing.B) {
	var csv bytes.Buffer
	s, _ := NewSampler(newFake(8, steady), DefaultInterval, NewTimeline(&csv))
	s.BeginCell("c")
	b.ReportAllocs()
	for b.Loop() {
		s.round(AllFields&^Energy, false)
		if csv.Len() > 1<<20 {
			csv.Reset()
		}
	}
}
