package dcgm

import (
	"testing"
	"time"
)

// The interval is the median gap between readings seen one after another;
// the first gap (from Open to the first new reading) is not one, and a
// missed collection (a doubled gap) does not move the median.
func TestInterval(t *testing.T) {
	s := &Exporter{}
	if got := s.Interval(); got != DefaultInterval {
		t.Errorf("no readings: %v, want the default %v", got, DefaultInterval)
	}
	s.gaps = []time.Duration{3 * time.Second}
	if got := s.Interval(); got != DefaultInterval {
		t.Errorf("only the gap from Open: %v, want the default", got)
	}
	s.gaps = []time.Duration{3 * time.Second, 10 * time.Second}
	if got := s.Interval(); got != 10*time.Second {
		t.Errorf("one gap between readings: %v, want it", got)
	}
	s.gaps = []time.Duration{3 * time.Second, 10 * time.Second, 10 * time.Second, 20 * time.Second, 10 * time.Second}
	if got := s.Interval(); got != 10*time.Second {
		t.Errorf("%v, want 10s", got)
	}
}
