package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDerivedMetrics(t *testing.T) {
	t0 := time.Unix(100, 0)
	r := Record{Start: t0, IntendedStart: t0.Add(-2 * time.Millisecond), FirstToken: t0.Add(40 * time.Millisecond),
		LastToken: t0.Add(140 * time.Millisecond), OutputTokens: 11}
	if r.TTFT() != 40*time.Millisecond || r.E2E() != 140*time.Millisecond || r.Queue() != 2*time.Millisecond {
		t.Errorf("TTFT %v E2E %v queue %v", r.TTFT(), r.E2E(), r.Queue())
	}
	if tpot, ok := r.TPOT(); !ok || tpot != 10*time.Millisecond {
		t.Errorf("TPOT %v %v, want 10ms", tpot, ok)
	}
	r.OutputTokens = 1
	if _, ok := r.TPOT(); ok {
		t.Error("TPOT defined for one token")
	}
	var empty Record
	if empty.TTFT() != 0 || empty.E2E() != 0 || empty.Queue() != 0 || !empty.Succeeded() {
		t.Error("zero record")
	}
}

func TestResetKeepsStorage(t *testing.T) {
	r := Record{Seq: 9, Class: Timeout, ChunkGaps: make([]time.Duration, 3, 64)}
	r.Reset()
	if r.Seq != 0 || r.Class != OK || len(r.ChunkGaps) != 0 || cap(r.ChunkGaps) != 64 {
		t.Errorf("after reset: %+v cap %d", r, cap(r.ChunkGaps))
	}
}

func TestFail(t *testing.T) {
	var r Record
	r.Fail(HTTP5xx, 503, errors.New("HTTP 503"))
	if r.Succeeded() || r.Class != HTTP5xx || r.Status != 503 || r.Err != "HTTP 503" {
		t.Errorf("%+v", r)
	}
}

func TestJSONL(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSONL(&buf)
	j.Add(0, &Record{Seq: 1, Status: 200, OutputTokens: 5, ChunkGaps: []time.Duration{time.Millisecond}})
	j.Add(1, &Record{Seq: 2, Class: ConnRefused})
	if buf.Len() != 0 {
		t.Error("JSONL wrote before Flush: it should buffer")
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var back Record
	if err := json.Unmarshal([]byte(lines[0]), &back); err != nil || back.Seq != 1 || back.OutputTokens != 5 || back.ChunkGaps[0] != time.Millisecond {
		t.Errorf("round trip: %+v %v", back, err)
	}
	if !strings.Contains(lines[1], `"class":"conn_refused"`) || strings.Contains(lines[1], "intended_start") {
		t.Errorf("line 2: %s", lines[1])
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestJSONLWriteError(t *testing.T) {
	j := NewJSONL(failWriter{})
	j.Add(0, &Record{})
	if err := j.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v", err)
	}
}
