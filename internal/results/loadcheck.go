package results

// Load check verdicts.
const (
	LoadOK            = "ok"
	LoadClientLimited = "client-limited"
	LoadServerLimited = "server-limited"
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
}
