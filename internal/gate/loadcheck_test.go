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
		{"client lagged below the cap", func(in *LoadInput) { in.LagP99 = 60 * time.Millisecond }, results.LoadClientLimited, "below the in-flight cap"},
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
}
