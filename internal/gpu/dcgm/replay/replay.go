// Package replay serves recorded dcgm-exporter output (fixtures/gpu/dcgm)
// as a DCGM exporter would: a node with the recorded A100 as GPU 0 and the
// exporter README's GPU as GPU 1, labelled with the pods the GPU Operator's
// pod mapping would name. Its reading advances only when told (POST
// /advance), so a test decides which recorded instants bracket a cell. The
// lab's stand-in exporter (cmd/labdcgm) and the DCGM source's tests serve
// it.
package replay

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/llm-platform/harness/fixtures"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
)

// Instants are the A100's recorded readings, in order.
var Instants = []string{"gpu/dcgm/a100-docs.prom", "gpu/dcgm/a100-docs-30s.prom"}

// other is the second GPU's recording.
const other = "gpu/dcgm/readme.prom"

// counters are the families dcgm-exporter's default counters file types
// as counters; the recordings leave most families untyped.
var counters = []string{"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL"}

// Node labels the replayed GPUs.
type Node struct {
	// Hostname is the node's name (the exporter's hostname label).
	Hostname string
	// Pods are the pods on GPU 0 (the A100) and GPU 1; a zero Pod: none.
	Pods [2]dcgm.Pod
}

// Reading is the exposition of instant k (an index into Instants).
func Reading(k int, n Node) ([]byte, error) {
	fams := map[string]*dto.MetricFamily{}
	for g, file := range []string{Instants[k], other} {
		b, err := fixtures.DCGM.ReadFile(file)
		if err != nil {
			return nil, err
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		got, err := p.TextToMetricFamilies(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("replay: %s: %w", file, err)
		}
		for name, f := range got {
			relabel(f, g, n)
			if have := fams[name]; have != nil {
				have.Metric = append(have.Metric, f.Metric...)
				if have.Help == nil {
					have.Help = f.Help
				}
				continue
			}
			fams[name] = f
		}
	}
	var out bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		f := fams[name]
		typed(f)
		if _, err := expfmt.MetricFamilyToText(&out, f); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// relabel gives the metrics of recording g (0 or 1) the node's labels: GPU
// index g, its hostname, and the pod mapped to the GPU.
func relabel(f *dto.MetricFamily, g int, n Node) {
	for _, m := range f.Metric {
		set := map[string]string{"gpu": strconv.Itoa(g)}
		if n.Hostname != "" {
			set["Hostname"] = n.Hostname
		}
		if p := n.Pods[g]; p.Name != "" {
			set["container"], set["namespace"], set["pod"] = "main", p.Namespace, p.Name
		}
		for _, l := range m.Label {
			if v, ok := set[l.GetName()]; ok {
				l.Value = proto.String(v)
				delete(set, l.GetName())
			}
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(set[k])})
		}
	}
}

// typed gives an untyped family, and the untyped metrics merged into it,
// the type dcgm-exporter gives it (a family typed in its recording keeps
// its type), moving their values.
func typed(f *dto.MetricFamily) {
	counter := slices.Contains(counters, f.GetName())
	if f.GetType() == dto.MetricType_UNTYPED {
		f.Type = dto.MetricType_GAUGE.Enum()
		if counter {
			f.Type = dto.MetricType_COUNTER.Enum()
		}
	}
	counter = f.GetType() == dto.MetricType_COUNTER
	for _, m := range f.Metric {
		if m.Untyped == nil {
			continue // merged from a typed recording
		}
		v := m.GetUntyped().GetValue()
		m.Untyped = nil
		if counter {
			m.Counter = &dto.Counter{Value: proto.Float64(v)}
		} else {
			m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
		}
	}
}

// Player serves the replay: GET /metrics the reading in force, POST
// /advance moves to the next recorded instant (staying at the last).
type Player struct {
	node Node
	mu   sync.Mutex
	k    int
}

// New returns a Player at the first instant.
func New(n Node) *Player { return &Player{node: n} }

// Advance moves to the next instant and returns its index.
func (s *Player) Advance() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.k = min(s.k+1, len(Instants)-1)
	return s.k
}

func (s *Player) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/metrics" && r.Method == http.MethodGet:
		s.mu.Lock()
		k := s.k
		s.mu.Unlock()
		b, err := Reading(k, s.node)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		_, _ = w.Write(b)
	case r.URL.Path == "/advance" && r.Method == http.MethodPost:
		_, _ = fmt.Fprintf(w, "%d\n", s.Advance())
	default:
		http.NotFound(w, r)
	}
}
