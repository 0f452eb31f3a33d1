package promrw

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/llm-platform/harness/internal/results"
)

func sampleRun() (*results.Run, results.Cell) {
	t0 := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	run := &results.Run{Start: t0, End: t0.Add(time.Minute), Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", GitCommit: "abc123",
		Stack: results.Stack{ServerVersion: "0.11.0", Route: "/v1/chat/completions", RouteKind: "ingress"},
		GPUs:  []results.GPU{{Name: "NVIDIA H200"}}}
	c := results.Cell{Payload: "short", Concurrency: 4, Mode: "closed", Requests: 100, Successes: 98, Errors: map[string]int64{"http_5xx": 2},
		RPS: 12.5, OutputTokS: 800, GoodputRPS: 12, Verdict: results.Pass,
		TTFT: results.Dist{P50: 20, P90: 24, P95: 25, P99: 30, N: 98}, ITL: results.Dist{P50: 8, P90: 9, P95: 9.5, P99: 11, N: 6000},
		TPOT: results.Dist{P50: 8.1, P90: 8.5, P95: 8.6, P99: 9, N: 98}, E2E: results.Dist{P50: 500, P90: 520, P95: 530, P99: 560, N: 98},
		GPU: &results.GPUWindow{UtilAvg: 40, MemUsedMax: 2048, PowerAvg: 150.5, EnergyJ: 9000, JoulesPerToken: 0.19}}
	return run, c
}

// A cell's series: every name Names lists, base units, the stable labels,
// sorted label names, the run's end as the timestamp.
func TestSeries(t *testing.T) {
	run, c := sampleRun()
	got := map[string]prompb.TimeSeries{}
	for _, ts := range Series(run, c) {
		var name, q, class string
		for i, l := range ts.Labels {
			if i > 0 && ts.Labels[i-1].Name >= l.Name {
				t.Errorf("labels not sorted: %v", ts.Labels)
			}
			switch l.Name {
			case "__name__":
				name = l.Value
			case "quantile":
				q = l.Value
			case "class":
				class = l.Value
			}
		}
		if ts.Samples[0].Timestamp != run.End.UnixMilli() {
			t.Errorf("%s: timestamp %d, want the run's end", name, ts.Samples[0].Timestamp)
		}
		got[name+"{"+q+class+"}"] = ts
	}
	for _, n := range Names {
		found := false
		for k := range got {
			if len(k) > len(Prefix+n) && k[:len(Prefix+n)+1] == Prefix+n+"{" {
				found = true
			}
		}
		if !found {
			t.Errorf("no series %s%s", Prefix, n)
		}
	}
	for key, want := range map[string]float64{
		"llm_harness_ttft_seconds{0.95}": 0.025, "llm_harness_e2e_seconds{0.5}": 0.5, "llm_harness_errors{http_5xx}": 2,
		"llm_harness_error_ratio{}": 0.02, "llm_harness_gpu_memory_used_bytes{}": 2048 << 20, "llm_harness_gpu_utilization_ratio{}": 0.4,
		"llm_harness_cell_passed{}": 1, "llm_harness_run_info{}": 1,
	} {
		if ts, ok := got[key]; !ok || ts.Samples[0].Value != want {
			t.Errorf("%s = %v, want %v", key, ts.Samples, want)
		}
	}
	l := Labels(run, c)
	if l["load"] != "4" || l["mode"] != "closed" || l["route_kind"] != "ingress" || l["gpu"] != "NVIDIA H200" || l["payload"] != "short" {
		t.Errorf("labels %v", l)
	}
	c.Mode, c.Rate = "open", 2.5
	if l := Labels(run, c); l["load"] != "2.5" || l["mode"] != "open" {
		t.Errorf("open-loop labels %v", l)
	}
}

// The run info series says which source gave the GPU series: a run from
// before schema 8 had only NVML, and a run without a GPU says none.
func TestRunInfoNamesTheGPUSource(t *testing.T) {
	for _, tc := range []struct {
		gpus []results.GPU
		want string
	}{
		{[]results.GPU{{Name: "NVIDIA H200", Source: "nvml"}}, "nvml"},
		{[]results.GPU{{Name: "NVIDIA A100-SXM4-40GB", Source: "dcgm"}}, "dcgm"},
		{[]results.GPU{{Name: "NVIDIA H200"}}, "nvml"},
		{nil, "none"},
	} {
		run, c := sampleRun()
		run.GPUs = tc.gpus
		var got []string
		for _, ts := range Series(run, c) {
			if ts.Labels[0].Value != Prefix+"run_info" {
				continue
			}
			for _, l := range ts.Labels {
				if l.Name == "gpu_source" {
					got = append(got, l.Value)
				}
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("GPUs %+v: run_info gpu_source %v, want [%s]", tc.gpus, got, tc.want)
		}
	}
}

// receiver is a remote-write endpoint of ours: it decodes what it gets
// (snappy, then the WriteRequest) and fails the first failFirst calls.
type receiver struct {
	failFirst int64
	calls     atomic.Int64
	mu        sync.Mutex
	got       []prompb.WriteRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.calls.Add(1) <= rc.failFirst {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		http.Error(w, "want remote write 1.0 with snappy", http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, b)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, req)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// A push that fails is retried until it lands; one that cannot land is
// reported; Cell never waits for either.
func TestWriter(t *testing.T) {
	rc := &receiver{failFirst: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, err := New(srv.URL+"/api/v1/write", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	run, c := sampleRun()
	w.Cell(run, c)
	rep := w.Close(time.Minute)
	if rep.Sent != 1 || rep.Failed != 0 || rc.calls.Load() != 3 || len(rc.got) != 1 || len(rc.got[0].Timeseries) != len(Series(run, c)) {
		t.Errorf("report %+v after %d calls; received %d requests", rep, rc.calls.Load(), len(rc.got))
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }))
	defer down.Close()
	w, err = New(down.URL+"/api/v1/write", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.Cell(run, c)
	rep = w.Close(time.Minute)
	if rep.Sent != 0 || rep.Failed != 1 || len(rep.Errors) != 1 {
		t.Errorf("a receiver that always fails: %+v", rep)
	}

	// A receiver that never answers: the sweep's cells still go by, the
	// queue's overflow counted, nothing waits on the push.
	hang := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer stuck.Close()
	defer close(hang)
	w, err = New(stuck.URL+"/api/v1/write", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for range queueCells + 5 {
			w.Cell(run, c)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Cell blocked on a receiver that does not answer")
	}
	rep = w.Close(100 * time.Millisecond)
	if rep.Failed < 4 {
		t.Errorf("overflow of a stuck receiver: %+v", rep)
	}
	t.Log(rep)
}
