package trace

import (
	"strings"
	"testing"
	"time"
)

func TestReadAndSchedule(t *testing.T) {
	tr, err := Read(strings.NewReader(`{"timestamp": 1000, "input_length": 600, "output_length": 20, "hash_ids": [1]}

{"timestamp": 1500, "input_length": 1100, "output_length": 40, "hash_ids": [1, 2]}
{"timestamp": 3000, "input_length": 80, "output_length": 8, "hash_ids": []}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Schedule(2); len(got) != 3 || got[0] != 0 || got[1] != 250*time.Millisecond || got[2] != time.Second {
		t.Errorf("schedule at 2x: %v", got)
	}
	if r := tr.Rate(1); r != 1 { // 2 gaps over 2 s
		t.Errorf("rate %v, want 1", r)
	}
	if tr.MaxOutput() != 40 {
		t.Errorf("max output %d", tr.MaxOutput())
	}
	for name, bad := range map[string]string{
		"backwards":     `{"timestamp": 5, "input_length": 1, "output_length": 1}` + "\n" + `{"timestamp": 4, "input_length": 1, "output_length": 1}`,
		"unknown field": `{"timestamp": 5, "input_length": 1, "output_length": 1, "prompt": "x"}`,
		"zero length":   `{"timestamp": 5, "input_length": 0, "output_length": 1}`,
		"not json":      `{"timestamp": `,
		"empty":         "\n\n",
	} {
		if _, err := Read(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "empty" && !strings.Contains(err.Error(), "line") {
			t.Errorf("%s: %v names no line", name, err)
		}
	}
}

// The committed sample reads.
func TestSample(t *testing.T) {
	tr, err := Load("../../fixtures/traces/sample.jsonl")
	if err != nil || len(tr) != 40 {
		t.Fatalf("%v, %d requests", err, len(tr))
	}
}
