package trace

import (
	"strings"
	"testing"
	"time"
)

func TestReadAndSchedule(t *testing.T) {
	tr, _, err := Read(strings.NewReader(`{"timestamp": 1000, "input_length": 600, "output_length": 20, "hash_ids": [1]}

{"timestamp": 1500, "input_length": 1100, "output_length": 40, "hash_ids": [1, 2]}
{"timestamp": 3000, "input_length": 80, "output_length": 8, "hash_ids": []}
`), "")
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
		if _, _, err := Read(strings.NewReader(bad), ""); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "empty" && !strings.Contains(err.Error(), "line") {
			t.Errorf("%s: %v names no line", name, err)
		}
	}
}

// The committed sample reads.
func TestSample(t *testing.T) {
	tr, notes, err := Load("../../fixtures/traces/sample.jsonl", "")
	if err != nil || len(tr) != 40 || notes.Format != Mooncake {
		t.Fatalf("%v, %d requests", err, len(tr))
	}
}

// TestFormats reads the committed excerpts of each format (their sources
// and licences: fixtures/traces/SOURCES.md), detected from their first
// line, and the same named by PERF_TRACE_FORMAT.
func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		n            int
		first        Request
		span         int64 // ms from the first request to the last
	}{
		{"mooncake-conversation.jsonl", Mooncake, 20, Request{Timestamp: 0, InputLength: 6758, OutputLength: 500}, 3000},
		{"azure-conv-2023.csv", Azure, 20, Request{Timestamp: 1700158546680, InputLength: 374, OutputLength: 44}, 13025}, // 18:15:46.680 to 18:15:59.705
		{"azure-conv-2024.csv", Azure, 5, Request{Timestamp: 1715472000001, InputLength: 1452, OutputLength: 3}, 247},
		{"burstgpt.csv", BurstGPT, 3, Request{Timestamp: 5000, InputLength: 472, OutputLength: 18}, 113000},
	} {
		for _, format := range []string{"", tc.format} {
			tr, notes, err := Load("../../fixtures/traces/"+tc.file, format)
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			got := tr[0]
			got.HashIDs = nil
			if notes.Format != tc.format || len(tr) != tc.n || got.Timestamp != tc.first.Timestamp || got.InputLength != tc.first.InputLength ||
				got.OutputLength != tc.first.OutputLength || tr[len(tr)-1].Timestamp-tr[0].Timestamp != tc.span {
				t.Errorf("%s (format %q): %s, %d requests, first %+v, span %d ms", tc.file, format, notes.Format, len(tr), got, tr[len(tr)-1].Timestamp-tr[0].Timestamp)
			}
		}
	}
	burst := "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n6.5,GPT-4,100,0,100,API log\n"
	tr, notes, err := Read(strings.NewReader(burst), "")
	if err != nil || len(tr) != 1 || notes.Skipped != 1 || notes.Skips() != "1 rows with 0 response tokens (failed requests) left out" {
		t.Errorf("a failed BurstGPT row: %v, %d requests, %+v", err, len(tr), notes)
	}
	for name, bad := range map[string]struct{ body, format string }{
		"unknown header":         {"time,in,out\n1,2,3\n", ""},
		"azure without a column": {"TIMESTAMP,ContextTokens,GeneratedTokens\n", BurstGPT},
		"azure bad time":         {"TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,1\n", ""},
		"unknown format":         {"{}", "sharegpt"},
	} {
		if _, _, err := Read(strings.NewReader(bad.body), bad.format); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestWindow: PERF_TRACE_START and PERF_TRACE_DURATION pick requests by
// their time after the first.
func TestWindow(t *testing.T) {
	tr := Trace{{Timestamp: 1000}, {Timestamp: 1500}, {Timestamp: 2000}, {Timestamp: 4000}}
	if w := tr.Window(500*time.Millisecond, time.Second); len(w) != 2 || w[0].Timestamp != 1500 || w[1].Timestamp != 2000 {
		t.Errorf("0.5 s for 1 s: %+v", w)
	}
	if w := tr.Window(time.Second, 0); len(w) != 2 || w[0].Timestamp != 2000 {
		t.Errorf("from 1 s to the end: %+v", w)
	}
}

// TestFit: each mode against a 2,048-token window, on the Mooncake
// excerpt (19 of its 20 requests are over it).
func TestFit(t *testing.T) {
	tr, _, err := Load("../../fixtures/traces/mooncake-conversation.jsonl", "")
	if err != nil {
		t.Fatal(err)
	}
	fits := func(tr Trace) bool {
		for _, q := range tr {
			if q.InputLength+q.OutputLength > 2048 {
				return false
			}
		}
		return true
	}
	none, _, f := Fit(tr, 2048, 512, FitNone)
	if f.Over != 19 || len(none) != 20 || fits(none) || !strings.HasPrefix(f.String(), "19 of 20 requests exceed max_model_len 2048") {
		t.Errorf("none: %+v %q", f, f)
	}
	scaled, blocks, f := Fit(tr, 2048, 512, FitScale)
	if !fits(scaled) || len(scaled) != 20 || blocks != 16 || f.Factor != 1.0/32 || scaled[0].InputLength != 212 || scaled[0].OutputLength != 500 {
		t.Errorf("scale: blocks %d, factor %v, first %+v, %q", blocks, f.Factor, scaled[0], f)
	}
	for i, q := range scaled { // every request keeps its ⌈input/block⌉ blocks, clipped ones aside
		if q.InputLength+q.OutputLength < 2048 && (q.InputLength+blocks-1)/blocks != len(q.HashIDs) {
			t.Errorf("scale: request %d has %d tokens for %d blocks of %d", i, q.InputLength, len(q.HashIDs), blocks)
		}
	}
	if tr[0].InputLength != 6758 {
		t.Error("Fit changed the trace it was given")
	}
	clipped, _, f := Fit(tr, 2048, 512, FitClip)
	if !fits(clipped) || f.Clipped != 19 || clipped[0].InputLength != 2048-500 {
		t.Errorf("clip: %+v, first %+v", f, clipped[0])
	}
	skipped, _, f := Fit(tr, 2048, 512, FitSkip)
	if !fits(skipped) || len(skipped) != 1 || f.Skipped != 19 {
		t.Errorf("skip: %d kept, %+v", len(skipped), f)
	}
	huge := Trace{{InputLength: 10, OutputLength: 5000}}
	if out, _, f := Fit(huge, 2048, 512, FitScale); out[0].OutputLength != 2032 || f.OutputCut != 1 || !fits(out) {
		t.Errorf("an output over the window: %+v, %+v", out[0], f)
	}
	if out, _, f := Fit(tr, 0, 512, FitScale); f.Over != 0 || &out[0] != &tr[0] {
		t.Errorf("an unknown window changed the trace: %+v", f)
	}
}
