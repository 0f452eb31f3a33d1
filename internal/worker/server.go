package worker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
)

// API is a worker's HTTP API. It runs one cell at a time.
type API struct {
	// Name names the worker in its self-check's reasons (its pod).
	Name string
	// CPULimit is the container's CPU limit in cores (0: none).
	CPULimit float64
	// now is the worker's clock (time.Now; a test moves it).
	now func() time.Time

	// born and contact time the harness's last call on the monotonic
	// clock (contact: nanoseconds since born), so a step of the pod's wall
	// clock neither ends a worker early nor keeps an orphan up.
	born    time.Time
	contact atomic.Int64
	mu      sync.Mutex
	cells   map[string]*cell
	busy    string // the cell running, "" when none
}

// startWait is how long a warm cell waits for its start when the order
// names no bound (Order.StartWithin).
const startWait = 30 * time.Minute

// cell is one cell on the worker.
type cell struct {
	cancel  context.CancelFunc
	start   chan time.Time // the harness's start, once
	mu      sync.Mutex
	status  Status
	started bool
}

func (c *cell) set(s Status) {
	c.mu.Lock()
	c.status = s
	c.mu.Unlock()
}

func (c *cell) get() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// NewAPI is a worker named name with a CPU limit of cpuLimit cores.
func NewAPI(name string, cpuLimit float64) *API {
	return &API{Name: name, CPULimit: cpuLimit, now: time.Now, cells: map[string]*cell{}, born: time.Now()}
}

// SetClock replaces the worker's clock (a test's skewed clock).
func (s *API) SetClock(now func() time.Time) { s.now = now }

// Handler is the worker's HTTP API (the package doc lists it).
func (s *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, Reading{Now: s.now()}) })
	mux.HandleFunc("PUT /cells/{id}", s.order)
	mux.HandleFunc("POST /cells/{id}/start", s.startCell)
	mux.HandleFunc("GET /cells/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c := s.cell(r.PathValue("id")); c != nil {
			reply(w, http.StatusOK, c.get())
			return
		}
		fail(w, http.StatusNotFound, "no cell %q", r.PathValue("id"))
	})
	mux.HandleFunc("DELETE /cells/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c := s.cell(r.PathValue("id")); c != nil {
			c.cancel()
			reply(w, http.StatusOK, c.get())
			return
		}
		fail(w, http.StatusNotFound, "no cell %q", r.PathValue("id"))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.contact.Store(int64(time.Since(s.born)))
		mux.ServeHTTP(w, r)
	})
}

func (s *API) cell(id string) *cell {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cells[id]
}

// order validates an Order and starts its warm-up.
func (s *API) order(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var o Order
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<20)).Decode(&o); err != nil {
		fail(w, http.StatusBadRequest, "order: %v", err)
		return
	}
	spec, payloads, err := o.spec()
	var recs *bytes.Buffer
	if o.Records {
		recs = new(bytes.Buffer)
		spec.Records = recs
	}
	if err == nil {
		err = spec.Validate(payloads)
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.mu.Lock()
	if _, ok := s.cells[id]; ok || s.busy != "" {
		s.mu.Unlock()
		fail(w, http.StatusConflict, "cell %q: the worker has cell %q", id, s.busy)
		return
	}
	// The cell outlives this request: it runs until done or DELETEd.
	for old, oc := range s.cells { // finished cells the harness has read: it orders the next only then
		if st := oc.get().State; st == Done || st == Failed {
			delete(s.cells, old)
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &cell{cancel: cancel, start: make(chan time.Time, 1), status: Status{State: Warming}}
	s.cells[id], s.busy = c, id
	s.mu.Unlock()
	go s.run(ctx, id, c, spec, payloads, recs, cmp.Or(o.StartWithin, startWait))
	reply(w, http.StatusAccepted, c.get())
}

// startCell hands a warm cell its start.
func (s *API) startCell(w http.ResponseWriter, r *http.Request) {
	c := s.cell(r.PathValue("id"))
	if c == nil {
		fail(w, http.StatusNotFound, "no cell %q", r.PathValue("id"))
		return
	}
	var at StartAt
	if err := json.NewDecoder(r.Body).Decode(&at); err != nil || at.At.IsZero() {
		fail(w, http.StatusBadRequest, "start: want {\"at\": RFC 3339 time}: %v", err)
		return
	}
	c.mu.Lock()
	again := c.started
	c.started = true
	c.mu.Unlock()
	if again {
		fail(w, http.StatusConflict, "cell %q has its start", r.PathValue("id"))
		return
	}
	c.start <- at.At // buffered: never blocks
	reply(w, http.StatusOK, c.get())
}

// run measures the cell and keeps its result.
func (s *API) run(ctx context.Context, id string, c *cell, spec measurement.Spec, payloads payload.Set, recs *bytes.Buffer, within time.Duration) {
	defer func() {
		c.cancel()
		s.mu.Lock()
		s.busy = ""
		s.mu.Unlock()
	}()
	var began time.Time
	var cpu0 time.Duration
	var gc0 uint64
	spec.AfterWarmup = func(context.Context) { c.set(Status{State: Warm}) }
	spec.Begin = func(ctx context.Context) time.Time {
		wait := time.NewTimer(within)
		defer wait.Stop()
		select {
		case at := <-c.start:
			c.set(Status{State: Running})
			began, cpu0, gc0 = at, measurement.ProcessCPU(), measurement.GCPauseNs()
			return at
		case <-wait.C: // the harness gave up on this worker: free it for the next cell
			c.cancel()
			return time.Time{}
		case <-ctx.Done():
			return time.Time{}
		}
	}
	m, err := measurement.Run(ctx, spec, payloads)
	if err != nil {
		c.set(Status{State: Failed, Error: err.Error()})
		return
	}
	if m.Partial == nil || began.IsZero() { // stopped before its start: nothing measured
		c.set(Status{State: Failed, Error: fmt.Sprintf("cell %s stopped before its start", id)})
		return
	}
	res := &Result{Partial: *m.Partial, Tally: m.Summary, CPULimit: s.CPULimit}
	if recs != nil {
		res.Records = recs.String()
	}
	res.Wall = max(s.now().Sub(began), 0)
	offered := 0.0
	if spec.Plan.Mode() == load.Open {
		offered = spec.Plan.Rate / float64(max(spec.Plan.Share.Of, 1))
	}
	res.Load = gate.CheckLoad(gate.LoadInput{Open: spec.Plan.Mode() == load.Open, OfferedRPS: offered,
		Requests: m.Stats.Requests, StartSpan: m.Stats.StartSpan, LagP99: m.Stats.Queue.P99, CapReached: m.Summary.CapReached,
		MaxInFlight: spec.Plan.Concurrency(), Wall: res.Wall, CPU: measurement.ProcessCPU() - cpu0, Cores: runtime.GOMAXPROCS(0),
		CPULimit: s.CPULimit, GCPause: time.Duration(measurement.GCPauseNs() - gc0), Who: "worker " + s.Name})
	c.set(Status{State: Done, Result: res})
}

// spec is the Order as a measurement spec and its one payload.
func (o Order) spec() (measurement.Spec, payload.Set, error) {
	tlsc, err := openai.TLSConfig("", o.Target.InsecureSkipVerify)
	if err != nil {
		return measurement.Spec{}, nil, err
	}
	p := o.Payload
	p.Prompts = o.Prompts
	plan := o.Plan
	plan.Schedule = o.Schedule
	return measurement.Spec{
		Target: measurement.Requests{Endpoint: openai.Endpoint{BaseURL: o.Target.BaseURL, Host: o.Target.Host, APIKey: o.Target.APIKey, TLS: tlsc},
			Model: o.Target.Model, Timeout: o.Target.Timeout, IdleTimeout: o.Target.IdleTimeout, NoStream: o.Target.NoStream},
		Payload: p.Name, Plan: plan, SLO: o.SLO, Export: true,
	}, payload.Set{p.Name: p}, nil
}

// Serve answers on ln until ctx ends, or until the harness has not called
// for idle while no cell runs (the harness is gone: the Job should end).
func (s *API) Serve(ctx context.Context, ln net.Listener, idle time.Duration) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	tick := time.NewTicker(min(idle/4, time.Second) + time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		case <-tick.C:
			s.mu.Lock()
			quiet := s.busy == "" && time.Since(s.born)-time.Duration(s.contact.Load()) > idle
			s.mu.Unlock()
			if !quiet {
				continue
			}
		}
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, format string, args ...any) {
	reply(w, code, Status{State: Failed, Error: fmt.Sprintf(format, args...)})
}
