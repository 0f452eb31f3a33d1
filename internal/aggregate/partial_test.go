package aggregate

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/record"
)

// Four generators' partials, through their wire form (JSON), merge into
// exactly the figures of one aggregator fed every record, whatever each
// generator's clock offset once it is corrected.
func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	slo := SLO{TTFT: 40 * time.Millisecond}
	one := New(slo)
	parts := []*Aggregator{New(slo), New(slo), New(slo), New(slo)}
	offsets := []time.Duration{0, 3 * time.Millisecond, -250 * time.Microsecond, 2 * time.Second}
	for i := range 4000 {
		start := time.Duration(i) * 5 * time.Millisecond
		var r *record.Record
		switch {
		case i%97 == 0:
			r = failed(start, record.HTTP5xx)
		case i%89 == 0:
			r = failed(start, record.Timeout)
		default: // log-normal-ish latencies over three decades
			ttft := time.Duration(float64(time.Millisecond) * 5 * (1 + rng.ExpFloat64()*8))
			r = ok(start, ttft, time.Duration(rng.IntN(20)+1)*time.Millisecond, rng.IntN(30)+1)
			r.IntendedStart = r.Start.Add(-time.Duration(rng.IntN(3000)) * time.Microsecond)
			r.PromptTokens = 100
		}
		one.Add(i, r)
		g := i % 4
		moved := *r // the generator's clock reads offsets[g] ahead
		moved.Start, moved.End = r.Start.Add(offsets[g]), r.End.Add(offsets[g])
		moved.FirstToken, moved.LastToken = r.FirstToken.Add(offsets[g]), r.LastToken.Add(offsets[g])
		if !r.IntendedStart.IsZero() {
			moved.IntendedStart = r.IntendedStart.Add(offsets[g])
		}
		parts[g].Add(i, &moved)
	}
	var wire []Partial
	for _, a := range parts {
		p, err := a.Export()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Partial
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		wire = append(wire, back)
	}
	got, err := Merge(wire, offsets)
	if err != nil {
		t.Fatal(err)
	}
	want := one.Result()
	got.Recovery, want.Recovery = 0, 0 // per generator by design (Merge)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n%+v\nwant one histogram's:\n%+v", got, want)
	}
	if want.TTFT.Count < 3000 || want.Queue.Count == 0 {
		t.Fatalf("the test fed too little: %+v", want.TTFT)
	}
	wire[2].Histograms["ttft"] = "not a histogram"
	if _, err := Merge(wire, offsets); err == nil {
		t.Error("a partial that does not decode was merged")
	}
}
