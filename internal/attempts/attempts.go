// Package attempts is the attempt policy of the harness's timing tests, in
// one place: a wall-clock check runs up to N times and passes on the first
// clean attempt. Noise on a shared 2-core machine (another process, a
// hypervisor's steal, the garbage collector) only ever makes an attempt
// slower, while a bias in the code under test shows in every attempt; so
// a check that fails all N attempts is a real failure, and one that passes
// once is not noise passed off as success.
//
// Use it only for checks of a bias (a median, an order, "not early"); a
// tail figure tighter than the machine's scheduling noise belongs to a
// benchmark, whatever the attempts.
package attempts

import "testing"

// Default is the attempts a timing check gets.
const Default = 5

// Run calls check up to n times, logging each attempt's problems, until
// one returns none; if every attempt has problems, t fails with the last
// attempt's. check may also call t.Fatal for what is not timing.
func Run(t testing.TB, n int, check func(attempt int) (problems []string)) {
	t.Helper()
	var problems []string
	for a := 1; a <= n; a++ {
		problems = check(a)
		if len(problems) == 0 {
			return
		}
		t.Logf("attempt %d of %d: %v", a, n, problems)
	}
	for _, p := range problems {
		t.Errorf("all %d attempts failed; the last: %s", n, p)
	}
}
