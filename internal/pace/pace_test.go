package pace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMeasure: a target answering in 5 ms plus 8 ms a further token, with
// one hiccup per length that the median leaves out; a failing probe is an
// error naming the length.
func TestMeasure(t *testing.T) {
	calls := map[int]int{}
	probe := func(_ context.Context, n int) (time.Duration, error) {
		calls[n]++
		d := 5*time.Millisecond + time.Duration(n-1)*8*time.Millisecond
		if calls[n] == 2 {
			d += 40 * time.Millisecond
		}
		return d, nil
	}
	got, err := Measure(context.Background(), probe)
	if err != nil || got != (Time{First: 5 * time.Millisecond, PerToken: 8 * time.Millisecond}) || calls[1] != Samples || calls[1+ProbeTokens] != Samples {
		t.Fatalf("pace %+v, err %v, calls %v", got, err, calls)
	}
	if d := got.Of(64); d != 5*time.Millisecond+63*8*time.Millisecond {
		t.Errorf("Of(64) = %v", d)
	}
	_, err = Measure(context.Background(), func(_ context.Context, n int) (time.Duration, error) {
		if n > 1 {
			return 0, errors.New("HTTP 503")
		}
		return time.Millisecond, nil
	})
	if err == nil || !strings.Contains(err.Error(), "17-token generation: HTTP 503") {
		t.Errorf("failing probe: %v", err)
	}
	// Noise that makes the long probe faster reads as no per-token time.
	flat, _ := Measure(context.Background(), func(_ context.Context, n int) (time.Duration, error) {
		return time.Duration(20-n) * time.Millisecond, nil
	})
	if flat.PerToken != 0 {
		t.Errorf("negative slope: %+v", flat)
	}
}
