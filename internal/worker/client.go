package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Transport carries the harness's calls to its workers, named by pod:
// package fleet's goes through the API server's pod proxy; HTTP calls
// them directly (tests, and a harness inside the cluster).
type Transport interface {
	Call(ctx context.Context, pod, method, path string, body []byte) (code int, reply []byte, err error)
}

// HTTP is a Transport to workers at base URLs, by pod name.
type HTTP map[string]string

// Call implements Transport.
func (h HTTP) Call(ctx context.Context, pod, method, path string, body []byte) (int, []byte, error) {
	base, ok := h[pod]
	if !ok {
		return 0, nil, fmt.Errorf("worker: no address for pod %s", pod)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, b, err
}

// Caller is the harness's side of the worker API.
type Caller struct {
	T Transport
}

// call sends in (nil: no body) and decodes the reply into out; a reply
// other than want is an error carrying the worker's message.
func (c Caller) call(ctx context.Context, pod, method, path string, in, out any, want int) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	code, reply, err := c.T.Call(ctx, pod, method, path, body)
	if err != nil {
		return fmt.Errorf("worker %s: %s %s: %w", pod, method, path, err)
	}
	if code != want {
		var st Status
		if json.Unmarshal(reply, &st) == nil && st.Error != "" {
			return fmt.Errorf("worker %s: %s %s: %d: %s", pod, method, path, code, st.Error)
		}
		return fmt.Errorf("worker %s: %s %s: HTTP %d: %.200s", pod, method, path, code, reply)
	}
	if out != nil {
		if err := json.Unmarshal(reply, out); err != nil {
			return fmt.Errorf("worker %s: %s %s: reply: %w", pod, method, path, err)
		}
	}
	return nil
}

// Order sends a cell's order; the worker starts its warm-up.
func (c Caller) Order(ctx context.Context, pod, id string, o Order) error {
	return c.call(ctx, pod, http.MethodPut, "/cells/"+id, o, nil, http.StatusAccepted)
}

// Start gives a warm cell its start, on the worker's clock.
func (c Caller) Start(ctx context.Context, pod, id string, at time.Time) error {
	return c.call(ctx, pod, http.MethodPost, "/cells/"+id+"/start", StartAt{At: at}, nil, http.StatusOK)
}

// Status is the cell's state on the worker.
func (c Caller) Status(ctx context.Context, pod, id string) (Status, error) {
	var st Status
	err := c.call(ctx, pod, http.MethodGet, "/cells/"+id, nil, &st, http.StatusOK)
	return st, err
}

// Stop stops the cell; the worker keeps what finished.
func (c Caller) Stop(ctx context.Context, pod, id string) error {
	return c.call(ctx, pod, http.MethodDelete, "/cells/"+id, nil, nil, http.StatusOK)
}

// Offset is a worker's clock against the harness's, as NTP estimates it:
// the worker's time minus the midpoint of the call's send and receive, its
// error at most Bound (half the round trip).
type Offset struct {
	Offset time.Duration
	Bound  time.Duration
}

// SyncClock reads the worker's clock samples times and keeps the reading
// with the shortest round trip (NTP's minimum-delay filter: the tightest
// bound). Calls through the API server add its latency to the round trip,
// which widens the bound, never biases the midpoint beyond it.
func (c Caller) SyncClock(ctx context.Context, pod string, samples int) (Offset, error) {
	best := Offset{Bound: -1}
	var last error
	for range max(samples, 1) {
		var ck Reading
		sent := time.Now()
		err := c.call(ctx, pod, http.MethodGet, "/clock", nil, &ck, http.StatusOK)
		recv := time.Now()
		if err != nil {
			last = err
			continue
		}
		rtt := recv.Sub(sent) // monotonic
		mid := sent.Add(rtt / 2)
		if o := (Offset{Offset: ck.Now.Sub(mid.Round(0)), Bound: rtt / 2}); best.Bound < 0 || o.Bound < best.Bound {
			best = o
		}
	}
	if best.Bound < 0 {
		return Offset{}, last
	}
	return best, nil
}

// CPULimit is this container's CPU limit in cores from its cgroup, 0 when
// it has none: cgroup v2's cpu.max, else cgroup v1's CFS quota and period
// (a node on cgroup v1, such as the lab's on some CI machines).
func CPULimit() float64 { return cpuLimit("/sys/fs/cgroup") }

func cpuLimit(root string) float64 {
	if b, err := os.ReadFile(filepath.Join(root, "cpu.max")); err == nil {
		return parseCPUMax(string(b))
	}
	for _, dir := range []string{"cpu", "cpu,cpuacct"} {
		q, err1 := os.ReadFile(filepath.Join(root, dir, "cpu.cfs_quota_us"))
		p, err2 := os.ReadFile(filepath.Join(root, dir, "cpu.cfs_period_us"))
		if err1 == nil && err2 == nil {
			return parseCPUMax(strings.TrimSpace(string(q)) + " " + strings.TrimSpace(string(p)))
		}
	}
	return 0
}

// parseCPUMax reads cgroup v2's cpu.max: "max 100000" (no limit) or
// "25000 100000" (a quarter core).
func parseCPUMax(s string) float64 {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" || f[0] == "-1" {
		return 0
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	p, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || p <= 0 {
		return 0
	}
	return q / p
}
