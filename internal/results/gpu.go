package results

// GPU describes one sampled device (package gpu fills it).
type GPU struct {
	Index         int    `json:"index"`
	Name          string `json:"name"`
	UUID          string `json:"uuid"`
	Driver        string `json:"driver,omitempty"`
	CUDA          string `json:"cuda,omitempty"`
	MemoryTotalMB int64  `json:"memory_total_mib,omitempty"`
	// GPM says whether the device supports GPM metrics (SM and tensor activity).
	GPM bool `json:"gpm"`
	// Source is where its figures came from: "nvml" (this machine's
	// driver) or "dcgm" (a DCGM exporter); "" in schemas before 8 (NVML).
	Source string `json:"source,omitempty"`
	// Match says how a DCGM exporter's GPU was found to be the one serving
	// the model, e.g. `pod llm/vllm-6f9c-x2 (the exporter's pod labels)`.
	Match string `json:"match,omitempty"`
	// Exporter is where the DCGM exporter was read (a service proxy path
	// or a URL).
	Exporter string `json:"exporter,omitempty"`
}

// GPUDeviceStats are one device's figures over one cell.
type GPUDeviceStats struct {
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
	// "counter" (the total-energy counter's delta between the cell's first
	// and last samples), "counter between readings" (a DCGM exporter's
	// counter between the readings either side of the cell: exact over
	// that span, EnergySpanS, which holds the cell) or "power integral"
	// (power integrated over the samples, when the counter is missing).
	EnergyJ      float64 `json:"energy_j"`
	EnergyMethod string  `json:"energy_method"`
	TempMax      float64 `json:"temperature_max_c"`
	SMClockAvg   float64 `json:"sm_clock_avg_mhz"`
	// Throttled is set when any sample showed a throttling reason, named in
	// ThrottleReasons.
	Throttled       bool     `json:"throttled"`
	ThrottleReasons []string `json:"throttle_reasons"`
	// SMActivityAvg and TensorActivityAvg are GPM's (or DCGM's profiling
	// fields); null without them. DRAMActivityAvg is DCGM's DRAM active
	// (schema 8), absent when not exposed.
	SMActivityAvg     *float64 `json:"sm_activity_avg_pct"`
	TensorActivityAvg *float64 `json:"tensor_activity_avg_pct"`
	DRAMActivityAvg   *float64 `json:"dram_activity_avg_pct,omitempty"`
	// Missing names fields that no sample of the cell could read; Lost is
	// set when the device fell off the bus during the cell.
	Missing []string `json:"missing"`
	Lost    bool     `json:"lost"`
}

// GPUWindow are all devices' figures over one cell, with the totals the
// report's columns show.
type GPUWindow struct {
	Devices []GPUDeviceStats `json:"devices"`
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

	// Schema 8. Source is "nvml" or "dcgm" ("" before: NVML). IntervalS is
	// the seconds between readings (NVML: the sampling interval; DCGM: the
	// exporter's collection interval as observed, else its default).
	// Readings are the readings taken during the cell; TooCoarse is set
	// under MinReadings of them, when the averages rest on too few points.
	// EnergySpanS is the span the energy covers (DCGM: between the
	// readings either side of the cell; NVML: the cell).
	Source      string  `json:"source,omitempty"`
	IntervalS   float64 `json:"interval_s,omitempty"`
	Readings    int     `json:"readings,omitempty"`
	TooCoarse   bool    `json:"too_coarse,omitempty"`
	EnergySpanS float64 `json:"energy_span_s,omitempty"`
}

// MinReadings is the fewest readings in a cell whose GPU figures are not
// too coarse.
const MinReadings = 3
