// Package gpu samples GPUs while a perf sweep runs: per device, at a fixed
// interval, the figures the team read off `nvidia-smi -l 1` and more, folded
// into per-cell statistics and written as a gpu.csv timeline.
//
// The package never imports NVML: a Source (package gpu/nvml, which fences
// off cgo and go-nvml) fills Samples, and everything else here is plain Go,
// testable with a fake Source. A field a device does not support, or that
// fails mid-run, is marked missing in that sample and degrades only itself;
// a lost GPU degrades only its own samples; neither stops a run.
//
// What the figures mean: utilization.gpu is NVML's "percent of time over the
// past sample period during which one or more kernels was executing", so it
// says a kernel was running, not how busy the SMs were. SM activity and
// tensor activity come from GPM (Hopper and newer) and measure how much of
// the SMs and tensor cores did work.
package gpu

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/results"
)

// Device describes one GPU: results.json's type, which this package fills.
type Device = results.GPU

// Field names one sampled figure.
type Field uint16

// The sampled fields.
const (
	UtilGPU Field = 1 << iota
	UtilMem
	MemUsed
	Power
	Energy
	Temp
	SMClock
	Throttle
	SMActivity
	TensorActivity
	DRAMActivity

	// AllFields is every field.
	AllFields = UtilGPU | UtilMem | MemUsed | Power | Energy | Temp | SMClock | Throttle | SMActivity | TensorActivity | DRAMActivity
)

var fieldNames = []struct {
	f    Field
	name string
}{
	{UtilGPU, "utilization.gpu"}, {UtilMem, "utilization.memory"}, {MemUsed, "memory.used"}, {Power, "power.draw"},
	{Energy, "total energy"}, {Temp, "temperature.gpu"}, {SMClock, "clocks.sm"}, {Throttle, "clock event reasons"},
	{SMActivity, "SM activity (GPM)"}, {TensorActivity, "tensor activity (GPM)"}, {DRAMActivity, "DRAM activity"},
}

// Names lists the fields set in f, in a fixed order.
func (f Field) Names() []string {
	var out []string
	for _, n := range fieldNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func (f Field) String() string { return strings.Join(f.Names(), ", ") }

// Sample is one device's figures at one instant. The caller says which
// fields to read in Read; a field in Missing was asked for but not read
// (unsupported, failed, or not yet available). An unread field is zero.
type Sample struct {
	Time           time.Time
	Device         int     // index into the Source's devices
	UtilGPU        float64 // %
	UtilMem        float64 // %
	MemUsedMiB     float64
	MemTotalMiB    float64
	PowerW         float64
	EnergyJ        float64 // the total-energy counter (since driver load)
	TempC          float64
	SMClockMHz     float64
	Throttle       uint64  // NVML clock event reasons, a bitmask
	SMActivity     float64 // % (GPM)
	TensorActivity float64 // % (GPM)
	DRAMActivity   float64 // % (DCGM's profiling field)
	Read           Field
	Missing        Field
	// Lost is set once the device has fallen off the bus: every field is missing.
	Lost bool
}

// Has reports whether field f was asked for and read.
func (s *Sample) Has(f Field) bool { return s.Read&f != 0 && s.Missing&f == 0 }

// Source reads GPUs. Sample must be safe to call from one goroutine at a
// time per Source (the Sampler's).
type Source interface {
	Devices() []Device
	// Sample fills the fields in s.Read for device i (s.Device, s.Time
	// and s.Read are set by the caller).
	Sample(i int, s *Sample)
	Close() error
}

// Paced is a Source whose figures change only when it collects, on an
// interval of its own: a DCGM exporter, every 30 s by default. Its Sample
// fills the reading in force and sets Time to when that reading was first
// seen, so the Sampler folds each reading once, and brackets a cell with
// the reading in force when it begins and the first one after it ends.
type Paced interface {
	Source
	// Interval is the collection interval: as observed between readings,
	// else the exporter's default.
	Interval() time.Duration
	// Await blocks until a reading first seen after t is in force, or
	// ctx ends.
	Await(ctx context.Context, t time.Time) error
}

// ErrNoGPU is wrapped by Open errors that mean "no GPU here": no NVML
// library, no device, a build without cgo. The message says which.
var ErrNoGPU = errors.New("no GPU")

// Throttle reason bits (NVML's clocks event reasons).
const (
	ReasonGpuIdle              uint64 = 0x1
	ReasonApplicationsClocks   uint64 = 0x2
	ReasonSwPowerCap           uint64 = 0x4
	ReasonHwSlowdown           uint64 = 0x8
	ReasonSyncBoost            uint64 = 0x10
	ReasonSwThermalSlowdown    uint64 = 0x20
	ReasonHwThermalSlowdown    uint64 = 0x40
	ReasonHwPowerBrakeSlowdown uint64 = 0x80
	ReasonDisplayClocks        uint64 = 0x100
)

// throttling are the reasons that mean the GPU ran slower than it could:
// idle, application clock settings, sync boost and display clocks do not.
const throttling = ReasonSwPowerCap | ReasonHwSlowdown | ReasonSwThermalSlowdown | ReasonHwThermalSlowdown | ReasonHwPowerBrakeSlowdown

// ReasonNames names the throttling reasons set in r.
func ReasonNames(r uint64) []string {
	var out []string
	for _, n := range []struct {
		bit  uint64
		name string
	}{
		{ReasonSwPowerCap, "sw_power_cap"}, {ReasonHwSlowdown, "hw_slowdown"}, {ReasonSwThermalSlowdown, "sw_thermal_slowdown"},
		{ReasonHwThermalSlowdown, "hw_thermal_slowdown"}, {ReasonHwPowerBrakeSlowdown, "hw_power_brake_slowdown"},
	} {
		if r&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}
