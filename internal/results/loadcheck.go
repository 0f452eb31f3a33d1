package results

// Load check verdicts.
const (
	LoadOK            = "ok"
	LoadClientLimited = "client-limited"
	LoadServerLimited = "server-limited"
	// LoadIncomplete: a distributed cell lost a worker's share (it died,
	// never started, or missed the cell's deadline); the figures are the
	// other workers'.
	LoadIncomplete = "incomplete"
	// LoadClockUncertain: a worker's clock offset could not be bounded
	// within PERF_WORKER_MAX_CLOCK_BOUND, so its start and span are uncertain.
	LoadClockUncertain = "clock-uncertain"
)

// LoadCheck says whether the load the cell applied matched its plan, and
// whose fault it was when not.
type LoadCheck struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// Open loop: the offered rate, the rate requests were started at, how
	// late the schedule ran (queue p99), and how many requests fell due
	// with every in-flight slot busy.
	OfferedRPS  float64 `json:"offered_rps,omitempty"`
	AchievedRPS float64 `json:"achieved_rps,omitempty"`
	LagP99Ms    float64 `json:"lag_p99_ms,omitempty"`
	CapReached  int64   `json:"cap_reached,omitempty"`
	// The harness process during the measured phase: CPU seconds used, the
	// cores it may use (GOMAXPROCS), their share used, and GC pause total.
	ClientCPUS     float64 `json:"client_cpu_s"`
	ClientCores    int     `json:"client_cores"`
	ClientCPUShare float64 `json:"client_cpu_share"`
	GCPauseMs      float64 `json:"gc_pause_ms"`
	// IncludesSimulator: the embedded simulator ran in the same process,
	// so the CPU figures include it.
	IncludesSimulator bool `json:"includes_simulator"`
	// Workers is each worker's part of a distributed cell (PERF_WORKERS);
	// the CPU figures above are then their sum, and ClientCores the sum of
	// their cores. Empty when the harness drove the cell itself.
	Workers []WorkerLoad `json:"workers,omitempty"`
	// ClockOffsetMs is the largest worker clock offset from the harness
	// (absolute), ClockBoundMs the bound on its error (half the round trip
	// it was measured over): distributed cells only.
	ClockOffsetMs float64 `json:"clock_offset_ms,omitempty"`
	ClockBoundMs  float64 `json:"clock_bound_ms,omitempty"`
}

// WorkerLoad is one worker's part of a distributed cell: its share, the
// load it applied and its own self-check, its clock, and, when its share
// is missing from the figures, why.
type WorkerLoad struct {
	// Index is the worker's Job completion index; Pod and Node where it ran.
	Index int    `json:"index"`
	Pod   string `json:"pod,omitempty"`
	Node  string `json:"node,omitempty"`
	// Share is the worker's part: VUs (closed loop) or its share of the
	// offered rate (open loop).
	VUs        int     `json:"vus,omitempty"`
	OfferedRPS float64 `json:"offered_rps,omitempty"`
	Requests   int64   `json:"requests"`
	// AchievedRPS and LagP99Ms: as the cell's, for this worker's requests.
	AchievedRPS float64 `json:"achieved_rps,omitempty"`
	LagP99Ms    float64 `json:"lag_p99_ms,omitempty"`
	// CPUS is the worker's CPU seconds in the measured phase, CPULimit its
	// container's CPU limit in cores (0: none), CPUShare the share of its
	// cores used.
	CPUS     float64 `json:"cpu_s"`
	CPULimit float64 `json:"cpu_limit,omitempty"`
	CPUShare float64 `json:"cpu_share"`
	// Verdict and Reason: the worker's own self-check.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// ClockOffsetMs is the worker's clock minus the harness's, ClockBoundMs
	// the bound on its error.
	ClockOffsetMs float64 `json:"clock_offset_ms"`
	ClockBoundMs  float64 `json:"clock_bound_ms"`
	// Lost, when set, says why the worker's share is not in the figures.
	Lost string `json:"lost,omitempty"`
}
