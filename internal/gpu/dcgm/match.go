package dcgm

import (
	"fmt"
	"strings"
)

// Want says which GPUs serve the model, as far as the harness knows.
type Want struct {
	// Pod is the model server's pod: its namespace and a prefix of its
	// name (PERF_GPU_POD, e.g. llm/vllm for the platform's Deployment).
	Pod Pod
	// Node is the node the pod runs on, when the cluster said so.
	Node string
	// UUID is the GPU named by hand (PERF_GPU_UUID).
	UUID string
}

// Match picks the GPUs that serve the model, and says how it knew: by the
// exporter's pod labels (the pod's namespace and name prefix), else by its
// hostname label when the pod's node has a single GPU, else by UUID. A
// pod on several GPUs (tensor parallel) gets all of them.
func Match(gpus []Exported, w Want) ([]Exported, string, error) {
	if w.Pod.Name != "" {
		var out []Exported
		var pods []string
		for _, g := range gpus {
			for _, p := range g.Pods {
				if p.Namespace == w.Pod.Namespace && strings.HasPrefix(p.Name, w.Pod.Name) {
					out = append(out, g)
					pods = append(pods, p.String())
					break
				}
			}
		}
		if len(out) > 0 {
			return out, fmt.Sprintf("pod %s (the exporter's pod labels)", strings.Join(pods, ", ")), nil
		}
	}
	if w.Node != "" {
		var on []Exported
		for _, g := range gpus {
			if g.Host == w.Node {
				on = append(on, g)
			}
		}
		if len(on) == 1 {
			return on, fmt.Sprintf("node %s (the exporter's hostname; the node's only GPU)", w.Node), nil
		}
	}
	if w.UUID != "" {
		for _, g := range gpus {
			if g.UUID == w.UUID {
				return []Exported{g}, "PERF_GPU_UUID " + w.UUID, nil
			}
		}
	}
	return nil, "", fmt.Errorf("none of the exporter's GPUs is known to serve the model (%s); it has %s; set PERF_GPU_POD or PERF_GPU_UUID",
		w.describe(), describe(gpus))
}

func (w Want) describe() string {
	var s []string
	if w.Pod.Name != "" {
		s = append(s, "no GPU labelled with a pod "+w.Pod.String()+"*")
	}
	if w.Node != "" {
		s = append(s, "node "+w.Node+" has not exactly one GPU")
	}
	if w.UUID != "" {
		s = append(s, "no GPU "+w.UUID)
	}
	if len(s) == 0 {
		return "no pod, node or UUID to look for"
	}
	return strings.Join(s, "; ")
}

func describe(gpus []Exported) string {
	if len(gpus) == 0 {
		return "no GPU"
	}
	var s []string
	for _, g := range gpus {
		d := fmt.Sprintf("GPU %d %s on %q", g.Index, g.UUID, g.Host)
		if len(g.Pods) > 0 {
			var p []string
			for _, pod := range g.Pods {
				p = append(p, pod.String())
			}
			d += " used by " + strings.Join(p, ", ")
		}
		s = append(s, d)
	}
	return strings.Join(s, "; ")
}

// ParseRef reads NAMESPACE/NAME, a setting's value (PERF_GPU_POD,
// PERF_DCGM_SERVICE).
func ParseRef(v string) (Pod, error) {
	ns, name, ok := strings.Cut(v, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Pod{}, fmt.Errorf("%q: want NAMESPACE/NAME", v)
	}
	return Pod{Namespace: ns, Name: name}, nil
}
