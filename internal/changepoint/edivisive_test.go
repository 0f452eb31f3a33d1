package changepoint

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// mongo is the configuration of MongoDB's signal-processing-algorithms
// tests (tests/test_detection.py, Apache-2.0, commit aec099a9 of
// github.com/mongodb/signal-processing-algorithms): e_divisive(series,
// pvalue=0.01, permutations=100), which has no minimum segment (1).
func mongo(seed uint64) Config {
	return Config{MinSize: 1, Alpha: 0.01, Permutations: 100, Seed: seed}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func join(parts ...[]float64) []float64 { return slices.Concat(parts...) }

// TestMongoCases runs the univariate cases of MongoDB's
// tests/test_detection.py (TestPostRunCheck) and test_e_divisive.py, each
// with the change points that implementation asserts. Their permutations
// come from numpy's generator, ours from Go's, so p-values differ in the
// last digits; every asserted change point is far from the threshold.
func TestMongoCases(t *testing.T) {
	at := func(xs []float64, i int, v float64) []float64 { xs[i] = v; return xs }
	cases := []struct {
		name string
		xs   []float64
		want []int
	}{
		{"test_absolute_certainty_univariate", join(repeat(0, 1000), repeat(1, 1000)), []int{1000}},
		{"test_random_ish_data", []float64{41, 18, 23, 3, 32, 11, 40, 13, 29, 48, 47, 35, 18, 21, 6, 2, 23, 3, 4, 7,
			120, 103, 102, 81, 71, 62, 115, 61, 108, 63, 70, 98, 65, 96, 64, 74, 70, 113, 90, 114,
			208, 196, 153, 150, 225, 179, 206, 165, 177, 151, 218, 217, 244, 245, 229, 195, 225, 229, 176, 250}, []int{20, 40}},
		{"test_finds_simple_regression", join(repeat(50, 15), repeat(100, 15)), []int{15}},
		{"test_finds_ahead", join(repeat(50, 14), []float64{74}, repeat(100, 15)), []int{15}},
		{"test_finds_behind", join(repeat(50, 14), []float64{76}, repeat(100, 15)), []int{14}},
		{"test_finds_simple_regression2", at(join(repeat(50, 15), repeat(100, 15)), 2, 100), []int{15}},
		{"test_regression_and_recovery", at(at(join(repeat(50, 15), repeat(100, 15), repeat(50, 15)), 2, 100), 32, 100), []int{15, 33}},
		{"test_two_regressions", at(join(repeat(50, 15), repeat(100, 15), repeat(150, 15)), 2, 100), []int{15, 30}},
		{"test_no_regressions", repeat(50, 30), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && len(c.xs) > 100 {
				t.Skip("long series")
			}
			if got := Detect(c.xs, mongo(1234)); !slices.Equal(got, c.want) {
				t.Errorf("change points %v, want %v", got, c.want)
			}
		})
	}
}

// TestMongoProfiles runs MongoDB's TestComputeChangePoints profiles and
// test_long_series (tests/data, copied into testdata): each asserts only
// how many change points are found.
func TestMongoProfiles(t *testing.T) {
	for _, c := range []struct {
		file string
		want int
	}{{"short.json", -1}, {"small.json", -1}, {"medium.json", -1}, {"long_series.json", 4}} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			var xs []float64
			want := c.want
			if want < 0 {
				var p struct {
					Series   []float64 `json:"series"`
					Expected int       `json:"expected"`
				}
				if err := json.Unmarshal(data, &p); err != nil {
					t.Fatal(err)
				}
				xs, want = p.Series, p.Expected
			} else if err := json.Unmarshal(data, &xs); err != nil {
				t.Fatal(err)
			}
			got := Detect(xs, mongo(1234))
			t.Logf("%d points: %v", len(xs), got)
			if len(got) != want {
				t.Errorf("%d change points %v, want %d", len(got), got, want)
			}
		})
	}
}

// TestMinSize: no segment is shorter than MinSize, and a change too close
// to the end to leave one is not found until it can be.
func TestMinSize(t *testing.T) {
	xs := join(repeat(10, 8), repeat(20, 3))
	if got := Detect(xs, Config{MinSize: 4, Alpha: 0.05, Permutations: 199, Seed: 1}); len(got) != 0 && got[0] > len(xs)-4 {
		t.Errorf("change point %v leaves fewer than 4 points", got)
	}
	xs = join(repeat(10, 8), repeat(20, 4))
	if got := Detect(xs, Config{MinSize: 4, Alpha: 0.05, Permutations: 199, Seed: 1}); !slices.Equal(got, []int{8}) {
		t.Errorf("change points %v, want [8]", got)
	}
}

// TestDeterministic: one seed, one answer; and noise alone (no change) is
// split at most at the test's rate.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var found, trials int
	for range 200 {
		xs := make([]float64, 12)
		for i := range xs {
			xs[i] = 100 * (1 + 0.05*rng.NormFloat64())
		}
		a, b := Detect(xs, Defaults()), Detect(xs, Defaults())
		if !slices.Equal(a, b) {
			t.Fatalf("same series and seed, %v then %v", a, b)
		}
		trials++
		if len(a) > 0 {
			found++
		}
	}
	t.Logf("%d of %d series without a change were split", found, trials)
	if float64(found)/float64(trials) > 0.10 {
		t.Errorf("%d of %d unchanged series split, want at most 10%%", found, trials)
	}
}
