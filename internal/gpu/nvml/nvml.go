//go:build cgo

// Package nvml is the gpu.Source that reads NVIDIA GPUs through NVML, with
// github.com/NVIDIA/go-nvml (NVIDIA's own bindings; they load
// libnvidia-ml.so.1 at run time, so a binary built here runs on a GPU box and
// reports a clean "no GPU" where there is none). It is its own package to
// fence off cgo: the rest of the harness never imports NVML, and a build
// without cgo uses the stub in nocgo.go.
package nvml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/llm-platform/harness/internal/gpu"
)

// gpmMinGap is the least time between two GPM samples used for a metric:
// NVML needs them about 100 ms apart, and a 100 ms ticker's jitter must not
// skip every other one.
const gpmMinGap = 95 * time.Millisecond

// Open initialises NVML and returns a Source over the devices selected by
// sel: empty for all, else a comma-separated list of indexes or UUIDs.
func Open(sel string) (gpu.Source, error) { return open(nvml.New(), sel) }

type device struct {
	h    nvml.Device
	info gpu.Device
	lost bool

	gpm             bool
	gpmPrev, gpmCur nvml.GpmSample
	gpmPrevAt       time.Time
	gpmHavePrev     bool
}

type source struct {
	lib  nvml.Interface
	devs []*device
	info []gpu.Device
	once sync.Once
}

func errOf(what string, r nvml.Return) error { return fmt.Errorf("%s: %s", what, r.Error()) }

func open(lib nvml.Interface, sel string) (*source, error) {
	if r := lib.Init(); r != nvml.SUCCESS {
		return nil, fmt.Errorf("%w: NVML not available: %s", gpu.ErrNoGPU, r.Error())
	}
	s := &source{lib: lib}
	fail := func(err error) (*source, error) { _ = lib.Shutdown(); return nil, err }
	n, r := lib.DeviceGetCount()
	if r != nvml.SUCCESS {
		return fail(errOf("nvml: device count", r))
	}
	if n == 0 {
		return fail(fmt.Errorf("%w: NVML found no device", gpu.ErrNoGPU))
	}
	driver, _ := lib.SystemGetDriverVersion()
	cuda := ""
	if v, r := lib.SystemGetCudaDriverVersion(); r == nvml.SUCCESS {
		cuda = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	want, err := parseSelector(sel)
	if err != nil {
		return fail(err)
	}
	for i := range n {
		h, r := lib.DeviceGetHandleByIndex(i)
		if r != nvml.SUCCESS {
			return fail(errOf(fmt.Sprintf("nvml: device %d", i), r))
		}
		uuid, _ := h.GetUUID()
		if !want.match(i, uuid) {
			continue
		}
		name, _ := h.GetName()
		d := &device{h: h, info: gpu.Device{Index: i, Name: name, UUID: uuid, Driver: driver, CUDA: cuda, Source: "nvml"}}
		if m, r := h.GetMemoryInfo(); r == nvml.SUCCESS {
			d.info.MemoryTotalMB = int64(m.Total >> 20)
		}
		if sup, r := h.GpmQueryDeviceSupport(); r == nvml.SUCCESS && sup.IsSupportedDevice != 0 {
			prev, r1 := lib.GpmSampleAlloc()
			cur, r2 := lib.GpmSampleAlloc()
			if r1 == nvml.SUCCESS && r2 == nvml.SUCCESS {
				d.gpm, d.gpmPrev, d.gpmCur = true, prev, cur
				d.info.GPM = true
			}
		}
		s.devs = append(s.devs, d)
		s.info = append(s.info, d.info)
	}
	if len(s.devs) == 0 {
		return fail(fmt.Errorf("nvml: PERF_GPU %q selects none of the %d devices", sel, n))
	}
	return s, nil
}

// selector is a parsed PERF_GPU.
type selector struct {
	all     bool
	indexes map[int]bool
	uuids   map[string]bool
}

func parseSelector(sel string) (selector, error) {
	s := selector{indexes: map[int]bool{}, uuids: map[string]bool{}}
	if strings.TrimSpace(sel) == "" {
		s.all = true
		return s, nil
	}
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		if i, err := strconv.Atoi(f); err == nil && i >= 0 {
			s.indexes[i] = true
		} else if strings.HasPrefix(f, "GPU-") || strings.HasPrefix(f, "MIG-") {
			s.uuids[f] = true
		} else {
			return s, fmt.Errorf("nvml: PERF_GPU %q: %q is neither an index nor a GPU UUID", sel, f)
		}
	}
	return s, nil
}

func (s selector) match(i int, uuid string) bool { return s.all || s.indexes[i] || s.uuids[uuid] }

func (s *source) Devices() []gpu.Device { return s.info }

// Sample reads the fields asked for. A field that errors is marked
// missing; a lost GPU is marked lost and not asked again.
func (s *source) Sample(i int, out *gpu.Sample) {
	d := s.devs[i]
	out.Read &^= gpu.DRAMActivity // DCGM's profiling field; NVML does not offer it
	if d.lost {
		out.Lost, out.Missing = true, out.Read
		return
	}
	want := func(f gpu.Field) bool { return out.Read&f != 0 }
	miss := func(f gpu.Field, r nvml.Return) bool {
		if r == nvml.SUCCESS {
			return false
		}
		if r == nvml.ERROR_GPU_IS_LOST {
			d.lost = true
		}
		out.Missing |= f
		return true
	}
	if want(gpu.UtilGPU | gpu.UtilMem) {
		if u, r := d.h.GetUtilizationRates(); !miss(out.Read&(gpu.UtilGPU|gpu.UtilMem), r) {
			out.UtilGPU, out.UtilMem = float64(u.Gpu), float64(u.Memory)
		}
	}
	if want(gpu.MemUsed) && !d.lost {
		if m, r := d.h.GetMemoryInfo(); !miss(gpu.MemUsed, r) {
			out.MemUsedMiB, out.MemTotalMiB = float64(m.Used>>20), float64(m.Total>>20)
		}
	}
	if want(gpu.Power) && !d.lost {
		if p, r := d.h.GetPowerUsage(); !miss(gpu.Power, r) {
			out.PowerW = float64(p) / 1000
		}
	}
	if want(gpu.Energy) && !d.lost {
		if e, r := d.h.GetTotalEnergyConsumption(); !miss(gpu.Energy, r) {
			out.EnergyJ = float64(e) / 1000
		}
	}
	if want(gpu.Temp) && !d.lost {
		if t, r := d.h.GetTemperature(nvml.TEMPERATURE_GPU); !miss(gpu.Temp, r) {
			out.TempC = float64(t)
		}
	}
	if want(gpu.SMClock) && !d.lost {
		if c, r := d.h.GetClockInfo(nvml.CLOCK_SM); !miss(gpu.SMClock, r) {
			out.SMClockMHz = float64(c)
		}
	}
	if want(gpu.Throttle) && !d.lost {
		if reasons, r := d.h.GetCurrentClocksEventReasons(); !miss(gpu.Throttle, r) {
			out.Throttle = reasons
		}
	}
	if want(gpu.SMActivity|gpu.TensorActivity) && !d.lost {
		s.sampleGPM(d, out)
	}
	if d.lost {
		out.Lost, out.Missing = true, out.Read
	}
}

// sampleGPM takes a GPM sample when the last is old enough and, with two,
// reads SM and tensor activity over the span between them.
func (s *source) sampleGPM(d *device, out *gpu.Sample) {
	out.Missing |= gpu.SMActivity | gpu.TensorActivity
	if !d.gpm || (d.gpmHavePrev && out.Time.Sub(d.gpmPrevAt) < gpmMinGap) {
		return
	}
	if r := d.h.GpmSampleGet(d.gpmCur); r != nvml.SUCCESS {
		if r == nvml.ERROR_GPU_IS_LOST {
			d.lost = true
		}
		return
	}
	if d.gpmHavePrev {
		mg := nvml.GpmMetricsGetType{NumMetrics: 2, Sample1: d.gpmPrev, Sample2: d.gpmCur}
		mg.Metrics[0].MetricId = uint32(nvml.GPM_METRIC_SM_UTIL)
		mg.Metrics[1].MetricId = uint32(nvml.GPM_METRIC_ANY_TENSOR_UTIL)
		if r := s.lib.GpmMetricsGet(&mg); r == nvml.SUCCESS {
			if mg.Metrics[0].NvmlReturn == uint32(nvml.SUCCESS) {
				out.SMActivity = mg.Metrics[0].Value
				out.Missing &^= gpu.SMActivity
			}
			if mg.Metrics[1].NvmlReturn == uint32(nvml.SUCCESS) {
				out.TensorActivity = mg.Metrics[1].Value
				out.Missing &^= gpu.TensorActivity
			}
		}
	}
	d.gpmPrev, d.gpmCur = d.gpmCur, d.gpmPrev
	d.gpmPrevAt, d.gpmHavePrev = out.Time, true
}

// Close frees GPM samples and shuts NVML down.
func (s *source) Close() error {
	var err error
	s.once.Do(func() {
		for _, d := range s.devs {
			if d.gpm {
				_ = s.lib.GpmSampleFree(d.gpmPrev)
				_ = s.lib.GpmSampleFree(d.gpmCur)
			}
		}
		if r := s.lib.Shutdown(); r != nvml.SUCCESS {
			err = errors.New("nvml: shutdown: " + r.Error())
		}
	})
	return err
}
