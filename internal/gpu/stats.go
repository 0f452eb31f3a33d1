package gpu

import (
	"math"
	"time"
)

// DeviceStats are one device's figures over one cell.
type DeviceStats struct {
	Index   int `json:"index"`
	Samples int `json:"samples"`
	// UtilAvg and UtilMax are utilization.gpu (a kernel was running), %.
	UtilAvg float64 `json:"utilization_avg_pct"`
	UtilMax float64 `json:"utilization_max_pct"`
	// MemUtilAvg is utilization.memory (memory controller busy), %.
	MemUtilAvg float64 `json:"memory_utilization_avg_pct"`
	MemUsedMax float64 `json:"memory_used_max_mib"`
	PowerAvg   float64 `json:"power_avg_w"`
	// EnergyJ is the cell's energy; EnergyMethod says how it was found:
	// "counter" (the total-energy counter's delta) or "power integral"
	// (power integrated over the samples, when the counter is missing).
	EnergyJ      float64 `json:"energy_j"`
	EnergyMethod string  `json:"energy_method"`
	TempMax      float64 `json:"temperature_max_c"`
	SMClockAvg   float64 `json:"sm_clock_avg_mhz"`
	// Throttled is set when any sample showed a throttling reason, named in
	// ThrottleReasons.
	Throttled       bool     `json:"throttled"`
	ThrottleReasons []string `json:"throttle_reasons"`
	// SMActivityAvg and TensorActivityAvg are GPM's; null without GPM.
	SMActivityAvg     *float64 `json:"sm_activity_avg_pct"`
	TensorActivityAvg *float64 `json:"tensor_activity_avg_pct"`
	// Missing names fields that no sample of the cell could read; Lost is
	// set when the device fell off the bus during the cell.
	Missing []string `json:"missing"`
	Lost    bool     `json:"lost"`
}

// Window are all devices' figures over one cell, with the totals the
// report's columns show.
type Window struct {
	Devices []DeviceStats `json:"devices"`
	// UtilAvg is the mean over devices of utilization.gpu; MemUsedMax the
	// sum over devices of their peak memory use.
	UtilAvg    float64 `json:"utilization_avg_pct"`
	MemUsedMax float64 `json:"memory_used_max_mib"`
	PowerAvg   float64 `json:"power_avg_w"`
	EnergyJ    float64 `json:"energy_j"`
	// JoulesPerToken is EnergyJ over the cell's output tokens; set by the
	// caller, which knows the tokens.
	JoulesPerToken float64 `json:"joules_per_output_token"`
	TempMax        float64 `json:"temperature_max_c"`
	Throttled      bool    `json:"throttled"`
}

// acc accumulates one device's samples over a cell.
type acc struct {
	n                               int
	nUtil, nMemUtil, nPower, nClock int
	nSM, nTensor                    int
	utilSum, utilMax, memUtilSum    float64
	memMax, powerSum, tempMax       float64
	clockSum, smSum, tensorSum      float64
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
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return round2(sum / float64(n))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (a *acc) stats(index int) DeviceStats {
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
	switch {
	case a.energyFirstOK && a.energyLastOK && a.n >= 2 && a.energyLast >= a.energyFirst:
		d.EnergyJ, d.EnergyMethod = round2(a.energyLast-a.energyFirst), "counter"
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
