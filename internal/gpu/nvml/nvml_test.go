//go:build cgo

package nvml

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/llm-platform/harness/internal/gpu"
)

// fakeGPU is a configurable mock device: each figure and whether it works.
type fakeGPU struct {
	uuid      string
	gpm       bool
	lostAfter int // calls to GetUtilizationRates before the GPU is lost; 0: never
	noEnergy  bool
	noClocks  bool
	calls     int
}

func (f *fakeGPU) device() *mock.Device {
	return &mock.Device{
		GetUUIDFunc:       func() (string, nvml.Return) { return f.uuid, nvml.SUCCESS },
		GetNameFunc:       func() (string, nvml.Return) { return "NVIDIA H200", nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 140 << 30, Used: 3 << 30}, nvml.SUCCESS },
		GpmQueryDeviceSupportFunc: func() (nvml.GpmSupport, nvml.Return) {
			if f.gpm {
				return nvml.GpmSupport{IsSupportedDevice: 1}, nvml.SUCCESS
			}
			return nvml.GpmSupport{}, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			f.calls++
			if f.lostAfter > 0 && f.calls > f.lostAfter {
				return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
			}
			return nvml.Utilization{Gpu: 87, Memory: 41}, nvml.SUCCESS
		},
		GetPowerUsageFunc: func() (uint32, nvml.Return) { return 512_250, nvml.SUCCESS }, // mW
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) {
			if f.noEnergy {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return 9_000_000 + uint64(f.calls)*250_000, nvml.SUCCESS // mJ
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 61, nvml.SUCCESS },
		GetClockInfoFunc: func(nvml.ClockType) (uint32, nvml.Return) {
			if f.noClocks {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return 1980, nvml.SUCCESS
		},
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) { return gpu.ReasonSwPowerCap, nvml.SUCCESS },
		GpmSampleGetFunc:                 func(nvml.GpmSample) nvml.Return { return nvml.SUCCESS },
	}
}

func library(gpus ...*fakeGPU) *mock.Interface {
	devs := make([]*mock.Device, len(gpus))
	for i, g := range gpus {
		devs[i] = g.device()
	}
	return &mock.Interface{
		InitFunc:                       func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:                   func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:             func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc:     func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
		SystemGetDriverVersionFunc:     func() (string, nvml.Return) { return "570.86.15", nvml.SUCCESS },
		SystemGetCudaDriverVersionFunc: func() (int, nvml.Return) { return 12080, nvml.SUCCESS },
		GpmSampleAllocFunc:             func() (nvml.GpmSample, nvml.Return) { return &mock.GpmSample{}, nvml.SUCCESS },
		GpmSampleFreeFunc:              func(nvml.GpmSample) nvml.Return { return nvml.SUCCESS },
		GpmMetricsGetFunc: func(m *nvml.GpmMetricsGetType) nvml.Return {
			m.Metrics[0].Value, m.Metrics[1].Value = 71.5, 33.25
			return nvml.SUCCESS
		},
	}
}

func sample(s *source, i int, at time.Time) gpu.Sample {
	smp := gpu.Sample{Time: at, Device: i, Read: gpu.AllFields}
	s.Sample(i, &smp)
	return smp
}

func TestFieldMapping(t *testing.T) {
	s, err := open(library(&fakeGPU{uuid: "GPU-a"}), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := s.Devices()
	if len(d) != 1 || d[0].Name != "NVIDIA H200" || d[0].UUID != "GPU-a" || d[0].Driver != "570.86.15" || d[0].CUDA != "12.8" ||
		d[0].MemoryTotalMB != 140<<10 || d[0].GPM || d[0].Source != "nvml" {
		t.Errorf("device %+v", d)
	}
	got := sample(s, 0, time.Now())
	want := gpu.Sample{UtilGPU: 87, UtilMem: 41, MemUsedMiB: 3 << 10, MemTotalMiB: 140 << 10, PowerW: 512.25, EnergyJ: 9250,
		TempC: 61, SMClockMHz: 1980, Throttle: gpu.ReasonSwPowerCap, Read: gpu.AllFields &^ gpu.DRAMActivity, Missing: gpu.SMActivity | gpu.TensorActivity}
	got.Time = time.Time{}
	if got != want {
		t.Errorf("sample\n got %+v\nwant %+v", got, want)
	}
}

func TestUnsupportedFields(t *testing.T) {
	s, _ := open(library(&fakeGPU{uuid: "GPU-a", noEnergy: true, noClocks: true}), "")
	defer s.Close()
	got := sample(s, 0, time.Now())
	if got.Has(gpu.Energy) || got.Has(gpu.SMClock) || !got.Has(gpu.Power) || !got.Has(gpu.UtilGPU) || got.Lost {
		t.Errorf("missing %v", got.Missing)
	}
}

func TestGPULostMidRun(t *testing.T) {
	g := &fakeGPU{uuid: "GPU-a", lostAfter: 2}
	s, _ := open(library(g), "")
	defer s.Close()
	for i := range 2 {
		if smp := sample(s, 0, time.Now()); smp.Lost || !smp.Has(gpu.UtilGPU) {
			t.Fatalf("sample %d before the loss: %+v", i, smp)
		}
	}
	for range 2 {
		if smp := sample(s, 0, time.Now()); !smp.Lost || smp.Has(gpu.Power) {
			t.Fatalf("after the loss: %+v", smp)
		}
	}
	if g.calls != 3 {
		t.Errorf("a lost GPU was asked again: %d utilisation calls, want 3", g.calls)
	}
}

func TestGPM(t *testing.T) {
	s, _ := open(library(&fakeGPU{uuid: "GPU-a", gpm: true}), "")
	defer s.Close()
	if !s.Devices()[0].GPM {
		t.Fatal("GPM not detected")
	}
	t0 := time.Now()
	if smp := sample(s, 0, t0); smp.Has(gpu.SMActivity) {
		t.Error("GPM figures from a single sample")
	}
	if smp := sample(s, 0, t0.Add(50*time.Millisecond)); smp.Has(gpu.SMActivity) {
		t.Error("GPM figures from samples 50 ms apart (NVML needs about 100 ms)")
	}
	smp := sample(s, 0, t0.Add(200*time.Millisecond))
	if !smp.Has(gpu.SMActivity) || !smp.Has(gpu.TensorActivity) || smp.SMActivity != 71.5 || smp.TensorActivity != 33.25 {
		t.Errorf("GPM sample %+v", smp)
	}
}

func TestSelectionAndMultipleDevices(t *testing.T) {
	lib := library(&fakeGPU{uuid: "GPU-a"}, &fakeGPU{uuid: "GPU-b"}, &fakeGPU{uuid: "GPU-c"})
	for sel, want := range map[string]string{"": "GPU-a GPU-b GPU-c", "1": "GPU-b", "0, GPU-c": "GPU-a GPU-c"} {
		s, err := open(lib, sel)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range s.Devices() {
			got = append(got, d.UUID)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q selects %v, want %s", sel, got, want)
		}
		s.Close()
	}
	for _, bad := range []string{"7", "gpu-x", "GPU-zzz"} {
		if _, err := open(lib, bad); err == nil || !strings.Contains(err.Error(), "PERF_GPU") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestNoNVML(t *testing.T) {
	lib := library()
	lib.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
	if _, err := open(lib, ""); !errors.Is(err, gpu.ErrNoGPU) || !strings.Contains(err.Error(), "NVML not available") {
		t.Errorf("err = %v", err)
	}
	if _, err := open(library(), ""); !errors.Is(err, gpu.ErrNoGPU) {
		t.Errorf("no device: err = %v", err)
	}
}

// TestRealNVMLOnThisMachine: the real library either reads a GPU or says
// cleanly that there is none (on the CI machine: ERROR_LIBRARY_NOT_FOUND).
func TestRealNVMLOnThisMachine(t *testing.T) {
	s, err := Open("")
	if err != nil {
		if !errors.Is(err, gpu.ErrNoGPU) {
			t.Fatalf("no GPU, but not said cleanly: %v", err)
		}
		t.Logf("no GPU here: %v", err)
		return
	}
	defer s.Close()
	if len(s.Devices()) == 0 {
		t.Fatal("opened with no device")
	}
	t.Logf("devices: %+v", s.Devices())
}

// BenchmarkNVMLRound is one timeline round on one real device: every
// field but the energy counter (read at cell boundaries and every
// gpu.EnergyEvery, since it costs ~3.9 ms on an H200), GPM included. It needs a GPU: make gpu-check
// builds it for a GPU machine.
func BenchmarkNVMLRound(b *testing.B) {
	s, err := Open("")
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	smp := gpu.Sample{}
	b.ReportAllocs()
	for b.Loop() {
		for i := range s.Devices() {
			smp = gpu.Sample{Time: time.Now(), Device: i, Read: gpu.AllFields &^ gpu.Energy}
			s.Sample(i, &smp)
		}
	}
	b.ReportMetric(float64(len(s.Devices())), "devices")
}

// BenchmarkNVMLCall is the cost of each NVML call the sampler makes, on a
// real device: where a round's time goes.
func BenchmarkNVMLCall(b *testing.B) {
	s, err := open(nvml.New(), "")
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	h := s.devs[0].h
	for name, call := range map[string]func(){
		"utilization": func() { h.GetUtilizationRates() },
		"memory":      func() { h.GetMemoryInfo() },
		"power":       func() { h.GetPowerUsage() },
		"energy":      func() { h.GetTotalEnergyConsumption() },
		"temperature": func() { h.GetTemperature(nvml.TEMPERATURE_GPU) },
		"sm_clock":    func() { h.GetClockInfo(nvml.CLOCK_SM) },
		"reasons":     func() { h.GetCurrentClocksEventReasons() },
		"gpm_sample":  func() { h.GpmSampleGet(s.devs[0].gpmCur) },
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				call()
			}
		})
	}
}
