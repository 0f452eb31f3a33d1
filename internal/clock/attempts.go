package clock

// DefaultAttempts is the attempts a timing check gets.
const DefaultAttempts = 5

// TB is the part of testing.TB that Attempts uses (this package is linked
// into commands, which must not import package testing).
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Attempts is the attempt policy of the harness's timing tests, in one
// place: a wall-clock check runs up to n times and passes on the first
// clean attempt. Noise on a shared 2-core machine (another process, a
// hypervisor's steal, the garbage collector) only ever makes an attempt
// slower, while a bias in the code under test shows in every attempt; so a
// check that fails all n attempts is a real failure, and one that passes
// once is not noise passed off as success.
//
// Use it only for checks of a bias (a median, an order, "not early"); a
// tail figure tighter than the machine's scheduling noise belongs to a
// benchmark, whatever the attempts. It calls check until one attempt
// returns no problems, logging each attempt's; if every attempt has
// problems, t fails with the last attempt's, the reason first (a job
// summary's one line then says it). check may also call t.Fatal
// for what is not timing.
func Attempts(t TB, n int, check func(attempt int) (problems []string)) {
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
		t.Errorf("%s (the last of %d attempts, every one failed)", p, n)
	}
}
