package gpu

import (
	"math"
	"time"

	"github.com/llm-platform/harness/internal/results"
)

// DeviceStats and Window are results.json's types (package results owns
// the file's shape); this package fills them.
type (
	DeviceStats = results.GPUDeviceStats
	Window      = results.GPUWindow
)

// MinReadings is the fewest readings in a cell whose figures are not too
// coarse.
const MinReadings = results.MinReadings

// acc accumulates one device's samples over a cell.
type acc struct {
	n                               int
	nUtil, nMemUtil, nPower, nClock int
	nSM, nTensor, nDRAM             int
	utilSum, utilMax, memUtilSum    float64
	memMax, powerSum, tempMax       float64
	clockSum, smSum, tensorSum      float64
	dramSum                         float64
	first, last                     time.Time
	// The energy counter is read at the cell's first and last sample (and
	// now and then between, for the timeline): its delta is the energy
	// when both ends were read.
	energyFirst, energyLast float64
	energyFirstOK           bool
	energyLastOK            bool
	integral                float64
	lastPower               float64
	lastPowerAt             time.Time
	throttle                uint64
	asked, read             Field
	lost                    bool
}

func newAcc() *acc { return &acc{} }

func (a *acc) add(s *Sample) {
	a.n++
	if a.n == 1 {
		a.first = s.Time
	}
	a.last = s.Time
	a.asked |= s.Read
	if s.Lost {
		a.lost = true
		a.energyLastOK = false
		return
	}
	a.read |= s.Read &^ s.Missing
	if s.Has(UtilGPU) {
		a.nUtil++
		a.utilSum += s.UtilGPU
		a.utilMax = max(a.utilMax, s.UtilGPU)
	}
	if s.Has(UtilMem) {
		a.nMemUtil++
		a.memUtilSum += s.UtilMem
	}
	if s.Has(MemUsed) {
		a.memMax = max(a.memMax, s.MemUsedMiB)
	}
	if s.Has(Power) {
		if !a.lastPowerAt.IsZero() {
			a.integral += (a.lastPower + s.PowerW) / 2 * s.Time.Sub(a.lastPowerAt).Seconds()
		}
		a.nPower++
		a.powerSum += s.PowerW
		a.lastPower, a.lastPowerAt = s.PowerW, s.Time
	}
	if s.Read&Energy != 0 {
		ok := s.Has(Energy)
		if a.n == 1 {
			a.energyFirst, a.energyFirstOK = s.EnergyJ, ok
		}
		a.energyLast, a.energyLastOK = s.EnergyJ, ok
	}
	if s.Has(Temp) {
		a.tempMax = max(a.tempMax, s.TempC)
	}
	if s.Has(SMClock) {
		a.nClock++
		a.clockSum += s.SMClockMHz
	}
	if s.Has(Throttle) {
		a.throttle |= s.Throttle
	}
	if s.Has(SMActivity) {
		a.nSM++
		a.smSum += s.SMActivity
	}
	if s.Has(TensorActivity) {
		a.nTensor++
		a.tensorSum += s.TensorActivity
	}
	if s.Has(DRAMActivity) {
		a.nDRAM++
		a.dramSum += s.DRAMActivity
	}
}

// span is the time from the first sample folded to the last.
func (a *acc) span() float64 { return a.last.Sub(a.first).Seconds() }

func mean(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return round2(sum / float64(n))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// stats are the device's figures over the cell. paced says its samples
// were a paced source's readings; bracketed that the last of them came
// after the cell, so the counter's delta holds the cell.
func (a *acc) stats(index int, paced, bracketed bool) DeviceStats {
	d := DeviceStats{
		Index: index, Samples: a.n,
		UtilAvg: mean(a.utilSum, a.nUtil), UtilMax: a.utilMax, MemUtilAvg: mean(a.memUtilSum, a.nMemUtil),
		MemUsedMax: a.memMax, PowerAvg: mean(a.powerSum, a.nPower), TempMax: a.tempMax, SMClockAvg: mean(a.clockSum, a.nClock),
		Throttled: a.throttle&throttling != 0, ThrottleReasons: ReasonNames(a.throttle),
		Missing: (a.asked &^ a.read).Names(), Lost: a.lost,
	}
	if d.ThrottleReasons == nil {
		d.ThrottleReasons = []string{}
	}
	if d.Missing == nil {
		d.Missing = []string{}
	}
	counted := a.energyFirstOK && a.energyLastOK && a.n >= 2 && a.energyLast >= a.energyFirst
	switch {
	case counted && paced && bracketed:
		d.EnergyJ, d.EnergyMethod = round2(a.energyLast-a.energyFirst), "counter between readings"
	case counted && !paced:
		d.EnergyJ, d.EnergyMethod = round2(a.energyLast-a.energyFirst), "counter"
	case paced:
		d.EnergyMethod = "none" // readings that do not hold the cell say nothing exact of its energy
	case a.nPower >= 2:
		d.EnergyJ, d.EnergyMethod = round2(a.integral), "power integral"
	default:
		d.EnergyMethod = "none"
	}
	if a.nSM > 0 {
		v := mean(a.smSum, a.nSM)
		d.SMActivityAvg = &v
	}
	if a.nTensor > 0 {
		v := mean(a.tensorSum, a.nTensor)
		d.TensorActivityAvg = &v
	}
	if a.nDRAM > 0 {
		v := mean(a.dramSum, a.nDRAM)
		d.DRAMActivityAvg = &v
	}
	return d
}

// cellStats folds the devices' stats into the cell's totals.
func cellStats(devs []DeviceStats) Window {
	c := Window{Devices: devs}
	var util float64
	for _, d := range devs {
		util += d.UtilAvg
		c.MemUsedMax += d.MemUsedMax
		c.PowerAvg += d.PowerAvg
		c.EnergyJ += d.EnergyJ
		c.TempMax = max(c.TempMax, d.TempMax)
		c.Throttled = c.Throttled || d.Throttled
	}
	if len(devs) > 0 {
		c.UtilAvg = round2(util / float64(len(devs)))
	}
	c.PowerAvg, c.EnergyJ = round2(c.PowerAvg), round2(c.EnergyJ)
	return c
}
