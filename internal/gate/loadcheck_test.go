package gate

import (
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/results"
)

func TestCheckLoad(t *testing.T) {
	base := LoadInput{Open: true, OfferedRPS: 100, Requests: 101, StartSpan: time.Second, LagP99: time.Millisecond,
		MaxInFlight: 64, Wall: 2 * time.Second, CPU: 400 * time.Millisecond, Cores: 2, GCPause: 3 * time.Millisecond}
	for _, tc := range []struct {
		name    string
		edit    func(*LoadInput)
		verdict string
		reason  string
	}{
		{"on schedule", func(*LoadInput) {}, results.LoadOK, ""},
		{"server could not keep up", func(in *LoadInput) { in.StartSpan, in.LagP99, in.CapReached = 2*time.Second, 800*time.Millisecond, 70 },
			results.LoadServerLimited, "70 of 101 requests fell due with all 64 in-flight slots busy"},
		{"client lagged below the cap", func(in *LoadInput) { in.LagP99 = 60 * time.Millisecond }, results.LoadClientLimited, "below the in-flight cap; achieved 100 of 100 req/s; the harness used 10% of 2 cores"},
		// A shortfall alone, on schedule otherwise, with the cap reached.
		{"short with the cap reached", func(in *LoadInput) { in.StartSpan, in.CapReached = 2*time.Second, 3 }, results.LoadServerLimited, "achieved 50 of 100 req/s"},
		// Each threshold met exactly is still a load that matched its plan.
		{"achieved exactly 95%", func(in *LoadInput) { in.Requests, in.CapReached = 96, 3 }, results.LoadOK, ""},
		{"lag exactly 5 ms", func(in *LoadInput) { in.LagP99, in.CapReached = 5*time.Millisecond, 3 }, results.LoadOK, ""},
		{"CPU exactly 90%", func(in *LoadInput) { in.CPU = 3600 * time.Millisecond }, results.LoadOK, ""},
		{"client CPU saturated", func(in *LoadInput) { in.Open, in.CPU = false, 3800*time.Millisecond }, results.LoadClientLimited, "used 95% of its 2 cores"},
		{"the simulator shares the process", func(in *LoadInput) { in.Open, in.CPU, in.Simulator = false, 3800*time.Millisecond, true },
			results.LoadClientLimited, "the harness and the embedded simulator it runs used 95%"},
		// At 1,000/s the gap is 1 ms: a 0.8 ms lag is more than half of it.
		{"lag against a short gap", func(in *LoadInput) { in.OfferedRPS, in.Requests, in.LagP99 = 1000, 1001, 800*time.Microsecond },
			results.LoadClientLimited, "more than 0.5 ms"},
	} {
		in := base
		tc.edit(&in)
		c := CheckLoad(in)
		if c.Verdict != tc.verdict || !strings.Contains(c.Reason, tc.reason) {
			t.Errorf("%s: %s %q", tc.name, c.Verdict, c.Reason)
		}
	}
	if c := CheckLoad(base); c.AchievedRPS != 100 || c.ClientCPUShare != 0.1 || c.GCPauseMs != 3 {
		t.Errorf("figures %+v", c)
	}
	// 101 starts over 4 s: 100 gaps, 25/s.
	slow := base
	slow.StartSpan = 4 * time.Second
	if c := CheckLoad(slow); c.AchievedRPS != 25 {
		t.Errorf("achieved %v, want 25", c.AchievedRPS)
	}
}
