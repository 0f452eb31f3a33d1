package clock

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }

func TestAttempts(t *testing.T) {
	var calls int
	r := &recorder{TB: t}
	Attempts(r, 5, func(a int) []string {
		calls++
		if a < 3 {
			return []string{"slow"}
		}
		return nil
	})
	if calls != 3 || len(r.errors) != 0 {
		t.Errorf("passing on attempt 3: %d calls, errors %v", calls, r.errors)
	}
	calls, r = 0, &recorder{TB: t}
	Attempts(r, 4, func(a int) []string { calls++; return []string{fmt.Sprintf("biased in attempt %d", a)} })
	if calls != 4 || len(r.errors) != 1 || r.errors[0] != "biased in attempt 4 (the last of 4 attempts, every one failed)" {
		t.Errorf("never passing: %d calls, errors %v", calls, r.errors)
	}
}
