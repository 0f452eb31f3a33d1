package dcgm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/gpu/dcgm/replay"
)

const (
	a100      = "GPU-34319582-d595-d1c7-d1d2-179bcfa61660"
	readmeGPU = "GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52"
)

var node = replay.Node{Hostname: "gpu-node-1", Pods: [2]dcgm.Pod{{Namespace: "llm", Name: "vllm-6f9c8d-x2"}, {Namespace: "batch", Name: "trainer-0"}}}

func reading(t *testing.T, k int, n replay.Node) []dcgm.Exported {
	t.Helper()
	b, err := replay.Reading(k, n)
	if err != nil {
		t.Fatal(err)
	}
	gpus, err := dcgm.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return gpus
}

// The recorded exposition parses into its two GPUs with the whole GPU's
// figures: the MIG instance's series (tensor 0.930433) are left out.
func TestParseTheRecording(t *testing.T) {
	gpus := reading(t, 0, node)
	if len(gpus) != 2 || gpus[0].UUID != a100 || gpus[1].UUID != readmeGPU || gpus[0].Host != "gpu-node-1" {
		t.Fatalf("GPUs %+v", gpus)
	}
	v := gpus[0].Values
	for name, want := range map[string]float64{"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": 319159391, "DCGM_FI_DEV_POWER_USAGE": 409.692,
		"DCGM_FI_DEV_SM_CLOCK": 1215, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": 0.929260, "DCGM_FI_PROF_DRAM_ACTIVE": 0.690789, "DCGM_FI_DEV_FB_USED": 4845} {
		if v[name] != want {
			t.Errorf("%s = %v, want %v", name, v[name], want)
		}
	}
	if gpus[1].Values["DCGM_FI_DEV_SM_CLOCK"] != 139 || !slices.Equal(gpus[1].Pods, []dcgm.Pod{{Namespace: "batch", Name: "trainer-0"}}) {
		t.Errorf("GPU 1 %+v", gpus[1])
	}
	if later := reading(t, 1, node); later[0].Values["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] != 331450151 {
		t.Errorf("second instant's counter %v", later[0].Values["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"])
	}
	// Both spellings of the host label: dcgm-exporter renamed Hostname to hostname.
	lower, err := dcgm.Parse([]byte(`DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-x",hostname="n1"} 40` + "\n"))
	if err != nil || len(lower) != 1 || lower[0].Host != "n1" {
		t.Errorf("hostname label: %+v %v", lower, err)
	}
	if _, err := dcgm.Parse([]byte("DCGM_FI_DEV_GPU_TEMP{gpu=\"0\" 40\n")); err == nil {
		t.Error("a broken exposition parsed")
	}
}

func TestMatch(t *testing.T) {
	gpus := reading(t, 0, node)
	for _, c := range []struct {
		name string
		gpus []dcgm.Exported
		want dcgm.Want
		uuid string
		how  string // a part of the explanation
	}{
		{"pod labels", gpus, dcgm.Want{Pod: dcgm.Pod{Namespace: "llm", Name: "vllm"}, Node: "gpu-node-1", UUID: readmeGPU}, a100, "pod llm/vllm-6f9c8d-x2"},
		{"the other pod", gpus, dcgm.Want{Pod: dcgm.Pod{Namespace: "batch", Name: "trainer"}}, readmeGPU, "pod batch/trainer-0"},
		{"a node of two GPUs falls to the UUID", gpus, dcgm.Want{Pod: dcgm.Pod{Namespace: "llm", Name: "gone"}, Node: "gpu-node-1", UUID: a100}, a100, "PERF_GPU_UUID"},
		{"a node of one GPU", gpus[:1], dcgm.Want{Pod: dcgm.Pod{Namespace: "other", Name: "vllm"}, Node: "gpu-node-1"}, a100, "node gpu-node-1"},
	} {
		got, how, err := dcgm.Match(c.gpus, c.want)
		if err != nil || len(got) != 1 || got[0].UUID != c.uuid || !strings.Contains(how, c.how) {
			t.Errorf("%s: %+v %q %v", c.name, got, how, err)
		}
	}
	_, _, err := dcgm.Match(gpus, dcgm.Want{Pod: dcgm.Pod{Namespace: "llm", Name: "gone"}, Node: "gpu-node-1"})
	if err == nil || !strings.Contains(err.Error(), a100) || !strings.Contains(err.Error(), "batch/trainer-0") || !strings.Contains(err.Error(), "PERF_GPU_UUID") {
		t.Errorf("no match: %v", err)
	}
}

// A cell read from an exporter through the Sampler: the reading in force
// when it begins and the first after it ends bracket it, the energy is the
// counter's delta between them, and the other pod's GPU is not read.
func TestSourceBracketsACell(t *testing.T) {
	srv := replay.New(node)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	src, err := dcgm.Open(context.Background(), dcgm.URL(ts.Client(), ts.URL+"/metrics"), dcgm.Want{Pod: dcgm.Pod{Namespace: "llm", Name: "vllm"}}, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	devs := src.Devices()
	if len(devs) != 1 || devs[0].UUID != a100 || devs[0].Source != "dcgm" || !strings.Contains(devs[0].Match, "pod llm/vllm-6f9c8d-x2") ||
		devs[0].MemoryTotalMB != 35690+4845 || !devs[0].GPM {
		t.Fatalf("devices %+v", devs)
	}
	s, err := gpu.NewSampler(src, gpu.DefaultInterval, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.BeginCell("c")
	srv.Advance() // the exporter collects while the cell runs; the harness sees it after the cell ends
	w := s.EndCell()
	d := w.Devices[0]
	if w.Source != "dcgm" || d.EnergyMethod != "counter between readings" || d.EnergyJ != 12290.76 || w.EnergyJ != 12290.76 {
		t.Errorf("energy: %+v %+v", w, d)
	}
	if d.SMClockAvg != 1215 || d.PowerAvg != 409.69 || d.TensorActivityAvg == nil || *d.TensorActivityAvg != 92.93 ||
		d.DRAMActivityAvg == nil || *d.DRAMActivityAvg != 69.08 || d.MemUsedMax != 4845 || d.TempMax != 61 {
		t.Errorf("figures: %+v", d)
	}
	if !slices.Contains(d.Missing, "utilization.gpu") || slices.Contains(d.Missing, "clocks.sm") {
		t.Errorf("missing %v: the recording has no GPU_UTIL, and has the SM clock", d.Missing)
	}
	if w.Readings != 0 || !w.TooCoarse || w.IntervalS != 30 {
		t.Errorf("readings %d, too coarse %v, interval %v", w.Readings, w.TooCoarse, w.IntervalS)
	}
}

func TestOpenFails(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) }))
	defer ts.Close()
	_, err := dcgm.Open(context.Background(), dcgm.URL(ts.Client(), ts.URL), dcgm.Want{UUID: a100}, "the test's exporter")
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "the test's exporter") {
		t.Errorf("a failing exporter: %v", err)
	}
	srv := httptest.NewServer(replay.New(replay.Node{}))
	defer srv.Close()
	src, err := dcgm.Open(context.Background(), dcgm.URL(srv.Client(), srv.URL+"/metrics"), dcgm.Want{UUID: a100}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := src.Await(ctx, time.Now()); err == nil {
		t.Error("Await returned without a new reading")
	}
}

// The cost of one reading: the harness parses the exporter's answer about
// once a second while a sweep runs.
func BenchmarkParse(b *testing.B) {
	body, err := replay.Reading(0, node)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dcgm.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
