package clock

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	restore := TuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(GCPercent); got != GCPercent {
		t.Errorf("GC percent %d after Apply, want %d", got, GCPercent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after restore, want 100", got)
	}
	// With GOGC set, Apply leaves the target as it was: read it before the
	// restore, which alone would put 100 back whatever Apply had done.
	restore = TuneGC(func(string) string { return "50" })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("an explicit GOGC was overridden: GC percent %d, want 100", got)
	}
	restore()
}
