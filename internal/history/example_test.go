package history

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/results"
)

var update = flag.Bool("update", false, "rewrite fixtures/history/example from the nightly model")

const exampleDir = "../../fixtures/history/example"

// exampleSeed is the seed of fixtures/history/example: the first seed
// whose sequence shows the acceptance's shape exactly (the rates over
// many seeds are TestTwelveNights').
const exampleSeed = 1

// exampleStack is what the runs record: vLLM 0.11.1 from night 9 on, the
// change the trend must name.
func exampleStack(n int) results.Stack {
	v := "0.11.0"
	if n >= 9 {
		v = "0.11.1"
	}
	return results.Stack{ServerVersion: v, Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", URL: "http://192.168.49.2", Host: "llm.local",
		Route: "/v1/chat/completions", RouteKind: "ingress", Kubernetes: "v1.32.9",
		Controllers: []string{"registry.k8s.io/ingress-nginx/controller:v1.12.1"}}
}

// shape says whether a sequence of 12 nights is the acceptance's: no
// gate on nights 1–5, nights 6–8 pass, 9–12 fail, one ITL change point
// at night 9.
func shape(h *History, cmps []results.Comparison) bool {
	for n, c := range cmps {
		switch {
		case n < 5 && c.Inconclusive == "",
			n >= 5 && n < 8 && (c.Regressed || c.Inconclusive != ""),
			n >= 8 && !c.Regressed:
			return false
		}
	}
	itl := Medians(Series(h.Entries, modelKey, metric("itl_p50_ms")))
	return slices.Equal(changepoint.Detect(itl, changepoint.Defaults()), []int{8})
}

// TestExampleHistory: the committed example history (make trend's
// default) has the acceptance's shape when the gate is replayed over it
// night by night from its files, as the perf suite would have judged it.
func TestExampleHistory(t *testing.T) {
	if *update {
		writeExample(t)
	}
	h, err := Load(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 12 {
		t.Fatalf("%d runs in %s, want 12", len(h.Entries), exampleDir)
	}
	g, o := defaultGate()
	replay := &History{}
	var cmps []results.Comparison
	for _, e := range h.Entries {
		run := *e.Run
		c := run.Cells[0]
		c.History = nil
		cmp := gate.AgainstHistory(replay.Pools(&run, c.Key(), o), c, g)
		if e.Run.Cells[0].History == nil || cmp.Regressed != e.Run.Cells[0].History.Regressed {
			t.Errorf("%s: the replayed gate says regressed=%v, the file %+v", e.File, cmp.Regressed, e.Run.Cells[0].History)
		}
		c.History = &cmp
		run.Cells = []results.Cell{c}
		replay.Entries = append(replay.Entries, Entry{File: e.File, Run: &run})
		cmps = append(cmps, cmp)
	}
	if !shape(replay, cmps) {
		for i, c := range cmps {
			t.Logf("night %d: regressed %v, %s", i+1, c.Regressed, c.Inconclusive)
		}
		t.Error("the example history lost the acceptance's shape")
	}
}

// writeExample regenerates the example: the first seed from exampleSeed
// whose sequence has the shape, written as the perf suite writes runs.
func writeExample(t *testing.T) {
	g, o := defaultGate()
	for seed := uint64(exampleSeed); seed < exampleSeed+200; seed++ {
		h, cmps := workflowModel.sequence(rand.New(rand.NewPCG(seed, 12)), 12, 9, 1.15, 1, g, o)
		if !shape(h, cmps) {
			continue
		}
		if err := os.RemoveAll(exampleDir); err != nil {
			t.Fatal(err)
		}
		out := &History{Dir: exampleDir}
		for i, e := range h.Entries {
			r := *e.Run
			r.End = r.Start.Add(25 * 60e9)
			r.Stack = exampleStack(i + 1)
			r.Target = results.TargetInfo{URL: r.Stack.URL, Host: r.Stack.Host}
			r.GitCommit = []string{"3f9c2a1d8e7b", "3f9c2a1d8e7b", "a41e0c9b2d55", "a41e0c9b2d55", "a41e0c9b2d55", "77d0e4f1c3a9",
				"77d0e4f1c3a9", "77d0e4f1c3a9", "c0ffee12ab34", "c0ffee12ab34", "c0ffee12ab34", "d15ea5e0b0b1"}[i]
			r.Settings = results.Settings{MaxErrorRate: 0.01, Tolerance: g.Tolerance, Repeats: 5, Alpha: g.Alpha, MaxCV: gate.DefaultMaxCV, Stream: true,
				History: "perf-history", HistoryMinRuns: g.MinRuns, ChangepointMinSegment: o.ChangePoints.MinSize, ChangepointAlpha: o.ChangePoints.Alpha}
			r.Payloads = map[string]results.PayloadInfo{"short": {MaxTokens: 64}}
			c := r.Cells[0]
			cmp := gate.AgainstHistory(out.Pools(&r, c.Key(), o), c, g)
			c.History, c.Verdict, c.Reasons = &cmp, results.Pass, []string{}
			if cmp.Regressed {
				c.Verdict, c.Reasons = results.Fail, gate.HistoryReasons(cmp)
			}
			r.Cells = []results.Cell{c}
			if _, err := out.Append(&r); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("example history from seed %d written to %s", seed, filepath.Clean(exampleDir))
		return
	}
	t.Fatal("no seed in 200 gave the acceptance's shape")
}
