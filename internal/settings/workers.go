package settings

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Workers is the distributed sweep's settings (PERF_WORKERS and
// PERF_WORKER_*): N > 0 drives every cell from N worker pods of an Indexed
// Job instead of this process.
type Workers struct {
	N          int
	Kubeconfig string
	Namespace  string
	Image      string
	// NodeSelector places the pods (PERF_WORKER_NODE_SELECTOR, k=v,...).
	NodeSelector map[string]string
	// CPURequest and CPULimit: PERF_WORKER_CPU, "LIMIT" (the request the
	// same) or "REQUEST:LIMIT".
	CPURequest, CPULimit string
	// Target is the server as the pods reach it (PERF_WORKER_TARGET;
	// PERF_TARGET when empty).
	Target        string
	StartTimeout  time.Duration
	MaxClockBound time.Duration
}

// selector parses "k=v,k2=v2".
func selector(dst func(*Config) *map[string]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		m := map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			if kv = strings.TrimSpace(kv); kv == "" {
				continue
			}
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q: want key=value pairs separated by commas", kv)
			}
			m[k] = val
		}
		if len(m) == 0 {
			m = nil
		}
		*dst(c) = m
		return nil
	}
}

// cpu parses "LIMIT" or "REQUEST:LIMIT" as Kubernetes quantities.
func cpu(c *Config, v string) error {
	req, lim, ok := strings.Cut(v, ":")
	if !ok {
		req, lim = v, v
	}
	if v == "" {
		req, lim = "", ""
	}
	for _, q := range []string{req, lim} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return fmt.Errorf("%q: want a CPU quantity such as 500m or 2, or REQUEST:LIMIT such as 10m:250m", v)
		}
	}
	c.Workers.CPURequest, c.Workers.CPULimit = req, lim
	return nil
}

// validateWorkers checks the distributed sweep's settings.
func (c *Config) validateWorkers() error {
	w := c.Workers
	switch {
	case w.N == 0:
		return nil
	case c.Target == "":
		return errors.New("settings: PERF_WORKERS: worker pods cannot reach the embedded simulator in this process: set PERF_TARGET (and PERF_WORKER_TARGET when the pods reach the server at another address)")
	case w.Image == "":
		return errors.New("settings: PERF_WORKER_IMAGE: must be set (make worker-image builds one)")
	case w.Namespace == "":
		return errors.New("settings: PERF_WORKER_NAMESPACE: must be set")
	}
	return nil
}

// DCGM names a DCGM exporter and the GPU in it that serves the model
// (PERF_DCGM_URL, PERF_DCGM_SERVICE, PERF_GPU_POD, PERF_GPU_UUID).
type DCGM struct {
	URL, Service, Pod, UUID string
}
