// Package dcgm is the gpu.Source that reads NVIDIA's DCGM exporter: the
// GPU figures of a Kubernetes cluster's GPU nodes as Prometheus exposes
// them (the GPU Operator installs the exporter by default), for a harness
// that runs anywhere but on the GPU node. It parses the exporter's text
// exposition with github.com/prometheus/common/expfmt (Prometheus's own
// parser), picks the GPU that serves the model (Match), and hands the
// Sampler each new reading once (gpu.Paced): the exporter collects on an
// interval of its own, 30 s by default, and serves the last collection in
// between.
//
// How the exporter is reached is the caller's (a Getter): a URL, or the
// Kubernetes API server's service proxy (package dcgm/kube).
package dcgm

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llm-platform/harness/internal/gpu"
)

// Pod is a pod the exporter says uses a GPU (its pod mapping's labels).
type Pod struct{ Namespace, Name string }

func (p Pod) String() string { return p.Namespace + "/" + p.Name }

// Exported is one GPU's whole-device series in one reading of the exporter.
type Exported struct {
	Index  int
	UUID   string
	Model  string // modelName
	Host   string // the hostname label (Hostname in dcgm-exporter releases before May 2026)
	Driver string // DCGM_FI_DRIVER_VERSION, when exported as a label
	// Pods are the pods the exporter mapped to the GPU (the GPU Operator
	// turns that mapping on by default); none without the mapping.
	Pods []Pod
	// Values are the GPU's figures by DCGM field name.
	Values map[string]float64
}

// The fields read, by DCGM field name, and how each fills a gpu.Sample.
var fields = []struct {
	name  string
	field gpu.Field
	set   func(s *gpu.Sample, v float64)
}{
	{"DCGM_FI_DEV_GPU_UTIL", gpu.UtilGPU, func(s *gpu.Sample, v float64) { s.UtilGPU = v }},
	{"DCGM_FI_DEV_MEM_COPY_UTIL", gpu.UtilMem, func(s *gpu.Sample, v float64) { s.UtilMem = v }},
	{"DCGM_FI_DEV_FB_USED", gpu.MemUsed, func(s *gpu.Sample, v float64) { s.MemUsedMiB = v }},
	{"DCGM_FI_DEV_POWER_USAGE", gpu.Power, func(s *gpu.Sample, v float64) { s.PowerW = v }},
	// mJ since the driver loaded.
	{"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu.Energy, func(s *gpu.Sample, v float64) { s.EnergyJ = v / 1000 }},
	{"DCGM_FI_DEV_GPU_TEMP", gpu.Temp, func(s *gpu.Sample, v float64) { s.TempC = v }},
	{"DCGM_FI_DEV_SM_CLOCK", gpu.SMClock, func(s *gpu.Sample, v float64) { s.SMClockMHz = v }},
	// NVML's clock event reasons bitmask, under DCGM's newer and older names.
	{"DCGM_FI_DEV_CLOCKS_EVENT_REASONS", gpu.Throttle, func(s *gpu.Sample, v float64) { s.Throttle = uint64(v) }},
	{"DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", gpu.Throttle, func(s *gpu.Sample, v float64) { s.Throttle = uint64(v) }},
	// The profiling fields are ratios; the harness's figures are %.
	{"DCGM_FI_PROF_SM_ACTIVE", gpu.SMActivity, func(s *gpu.Sample, v float64) { s.SMActivity = v * 100 }},
	{"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", gpu.TensorActivity, func(s *gpu.Sample, v float64) { s.TensorActivity = v * 100 }},
	{"DCGM_FI_PROF_DRAM_ACTIVE", gpu.DRAMActivity, func(s *gpu.Sample, v float64) { s.DRAMActivity = v * 100 }},
}

// fill sets the fields of s that g has, and marks the others asked for
// in s.Read missing.
func (g *Exported) fill(s *gpu.Sample) {
	var read gpu.Field
	for _, f := range fields {
		if v, ok := g.Values[f.name]; ok && s.Read&f.field != 0 {
			f.set(s, v)
			read |= f.field
		}
	}
	if used, ok := g.Values["DCGM_FI_DEV_FB_USED"]; ok {
		s.MemTotalMiB = used + g.Values["DCGM_FI_DEV_FB_FREE"] + g.Values["DCGM_FI_DEV_FB_RESERVED"]
	}
	s.Missing |= s.Read &^ read
}

// Parse reads one exposition into its GPUs, by index. Series of a MIG
// instance (GPU_I_ID) are left out: the figures are the whole GPU's.
func Parse(b []byte) ([]Exported, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("dcgm: the exporter's answer: %w", err)
	}
	byUUID := map[string]*Exported{}
	for name, fam := range fams {
		if !strings.HasPrefix(name, "DCGM_FI_") {
			continue
		}
		for _, m := range fam.GetMetric() {
			l := labels(m)
			if l["UUID"] == "" || l["GPU_I_ID"] != "" {
				continue
			}
			g := byUUID[l["UUID"]]
			if g == nil {
				idx, _ := strconv.Atoi(l["gpu"])
				g = &Exported{Index: idx, UUID: l["UUID"], Model: l["modelName"], Host: cmp.Or(l["hostname"], l["Hostname"]),
					Driver: l["DCGM_FI_DRIVER_VERSION"], Values: map[string]float64{}}
				byUUID[g.UUID] = g
			}
			if pod := (Pod{l["namespace"], l["pod"]}); pod.Name != "" && !slices.Contains(g.Pods, pod) {
				g.Pods = append(g.Pods, pod)
			}
			g.Values[name] = value(m)
		}
	}
	out := make([]Exported, 0, len(byUUID))
	for _, g := range byUUID {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Exported) int { return cmp.Or(cmp.Compare(a.Index, b.Index), strings.Compare(a.UUID, b.UUID)) })
	return out, nil
}

func labels(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}
