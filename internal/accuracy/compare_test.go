package accuracy

import (
	"strings"
	"testing"
	"time"
)

func ms(v ...float64) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x * float64(time.Millisecond))
	}
	return d
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(3), 3 * time.Millisecond},
		{ms(5, 1, 3), 3 * time.Millisecond},
		{ms(4, 1, 3, 2), 2500 * time.Microsecond},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestCompare: the tolerance grows with the reference's spread and shrinks
// with its sample count; an error either way beyond it fails.
func TestCompare(t *testing.T) {
	tight := ms(50, 50, 50, 50, 50, 50, 50, 50, 50)
	if c := Compare("ttft", ms(50.4, 50.5, 50.6), tight); !c.OK() || c.Tolerance != DefaultAllowance {
		t.Errorf("a 0.5 ms error on a still reference: %v", c)
	}
	if c := Compare("ttft", ms(51.5), tight); c.OK() {
		t.Errorf("1.5 ms late on a still reference passed: %v", c)
	}
	if c := Compare("ttft", ms(48.5), tight); c.OK() {
		t.Errorf("1.5 ms early passed: %v", c)
	}
	// Spread: MAD 2 ms -> sigma 2.965 ms; 9 samples a side: SE of the
	// difference 1.752 ms; x3 = 5.26 ms, plus the allowance.
	noisy := ms(46, 47, 48, 49, 50, 51, 52, 53, 54)
	c := Compare("ttft", ms(53, 53, 53, 53, 53, 53, 53, 53, 53), noisy)
	if !c.OK() || c.Tolerance < 6200*time.Microsecond || c.Tolerance > 6300*time.Microsecond {
		t.Errorf("3 ms within a noisy reference's tolerance: %v", c)
	}
	if c.Late(InjectedLate + 4*time.Millisecond).OK() {
		t.Errorf("7 ms late passed a 6.3 ms tolerance: %v", c.Late(7*time.Millisecond))
	}
	if c := Compare("ttft", ms(50), nil); c.OK() {
		t.Error("no reference samples passed")
	}
	if c := Compare("ttft", nil, tight); c.OK() {
		t.Error("no harness samples passed")
	}
	// One harness sample against nine: the harness's side of the error
	// dominates (sqrt(1/1 + 1/9) against sqrt(2/9)).
	if one, nine := Compare("ttft", ms(50), noisy), Compare("ttft", ms(50, 50, 50, 50, 50, 50, 50, 50, 50), noisy); one.Tolerance <= nine.Tolerance {
		t.Errorf("one harness sample: tolerance %v, nine: %v", one.Tolerance, nine.Tolerance)
	}
	if p := Problems(Compare("a", ms(50), tight), Compare("b", ms(60), tight)); len(p) != 1 {
		t.Errorf("problems %v, want b's only", p)
	}
}

// TestComparePaired: a server whose timer is late by a different amount
// each request (a reference spread of 5 ms) timed by a harness a steady
// 0.3 ms behind it: paired, the server's noise cancels, the tolerance stays
// near the allowance, and the same harness 3 ms late fails; unpaired, the
// server's noise would hide that.
func TestComparePaired(t *testing.T) {
	server := ms(50, 58, 51, 57, 52, 56, 53, 55, 54, 60, 49, 59)
	harness := make([]time.Duration, len(server))
	for i, s := range server {
		harness[i] = s + 300*time.Microsecond
	}
	c := ComparePaired("ttft", DefaultAllowance, harness, server)
	if !c.OK() || !c.Paired || c.Error() != 300*time.Microsecond || c.Tolerance != DefaultAllowance {
		t.Errorf("paired: %v", c)
	}
	if late := c.Late(InjectedLate); late.OK() {
		t.Errorf("paired, 3 ms late: %v", late)
	}
	if u := Compare("ttft", harness, server); !u.Late(InjectedLate).OK() {
		t.Errorf("unpaired, the server's noise should hide 3 ms: %v", u.Late(InjectedLate))
	}
	if !strings.Contains(c.String(), "12 pairs") {
		t.Errorf("String: %s", c)
	}
}
