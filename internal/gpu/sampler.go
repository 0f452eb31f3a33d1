package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sampling intervals.
const (
	// EnergyEvery is how often a timeline round also reads the energy
	// counter; cells read it at their first and last sample regardless.
	// On an H200 one read of the counter costs about 3.9 ms of CPU (the
	// other fields together about 0.09 ms), so reading it every round at
	// 10 Hz would cost 4% of a core.
	EnergyEvery     = 5 * time.Second
	DefaultInterval = 500 * time.Millisecond
	// MinInterval is the fastest sampling offered: NVML's utilisation
	// counters update at about that period, and GPM needs more than 100 ms
	// between its samples.
	MinInterval = 100 * time.Millisecond
)

// Sampler samples every device of a Source on an interval, writes each
// sample to the timeline, and folds the samples of the open cell. Start it
// once, bracket each cell with BeginCell/EndCell, Stop it at the end.
//
// A Paced source's readings are folded once each, when first seen; a cell
// folds the reading in force when it begins, those that come during it,
// and the first after it ends (EndCell waits for it), so the energy
// counter's delta covers the cell.
type Sampler struct {
	src      Source
	paced    Paced // src, when it is paced; else nil
	interval time.Duration
	timeline *Timeline // may be nil

	mu         sync.Mutex // guards the fields below and serialises rounds
	cell       string
	accs       []*acc
	smp        Sample
	lastEnergy time.Time
	seen       []time.Time // paced: per device, the last reading folded or written
	stopc      chan struct{}
	done       chan struct{}
}

// NewSampler returns a Sampler of src every interval (at least MinInterval),
// writing to timeline when it is not nil.
func NewSampler(src Source, interval time.Duration, timeline *Timeline) (*Sampler, error) {
	if interval < MinInterval {
		return nil, fmt.Errorf("gpu: interval %v: must be at least %v", interval, MinInterval)
	}
	s := &Sampler{src: src, interval: interval, timeline: timeline}
	if p, ok := src.(Paced); ok {
		s.paced, s.seen = p, make([]time.Time, len(src.Devices()))
	}
	return s, nil
}

// Start begins sampling in the background until Stop or ctx ends.
func (s *Sampler) Start(ctx context.Context) {
	s.stopc, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.stopc:
				return
			case <-t.C:
				s.round(AllFields&^Energy, false)
			}
		}
	}()
}

// round samples every device once, reading the fields in want (and the
// energy counter when EnergyEvery has passed). From a paced source it
// folds only readings not seen before, unless open says the reading in
// force opens a cell.
func (s *Sampler) round(want Field, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.lastEnergy) >= EnergyEvery || s.paced != nil {
		want |= Energy
	}
	if want&Energy != 0 {
		s.lastEnergy = now
	}
	for i := range s.src.Devices() {
		s.smp = Sample{Time: now, Device: i, Read: want}
		s.src.Sample(i, &s.smp)
		fresh := true
		if s.paced != nil {
			fresh = s.smp.Time.After(s.seen[i])
			if fresh {
				s.seen[i] = s.smp.Time
			}
		}
		if s.timeline != nil && fresh {
			s.timeline.write(&s.smp, s.src.Devices()[i], s.cell)
		}
		// The opening reading is folded once, even when a background round
		// saw it fresh between BeginCell's reset and its own round.
		if s.accs != nil && (fresh || open && s.accs[i].n == 0) {
			s.accs[i].add(&s.smp)
		}
	}
	if s.timeline != nil {
		_ = s.timeline.Flush() // per round: a killed run keeps its timeline; errors surface at Stop
	}
}

// BeginCell opens a cell: from now on samples fold into it. It samples at
// once, so the cell's first sample is at its start (a paced source's: the
// reading in force).
func (s *Sampler) BeginCell(name string) {
	s.mu.Lock()
	s.cell = name
	s.accs = make([]*acc, len(s.src.Devices()))
	for i := range s.accs {
		s.accs[i] = newAcc()
	}
	s.mu.Unlock()
	s.round(AllFields, true)
}

// EndCell samples once more and closes the cell, returning its figures.
// With a paced source it first waits, at most two intervals and 10 s, for
// the first reading after the cell; without one the energy counter's
// delta does not hold the cell and is not used.
func (s *Sampler) EndCell() Window {
	end := time.Now()
	if s.paced != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.paced.Interval()+10*time.Second)
		_ = s.paced.Await(ctx, end) // without a reading after the cell, bracketed below is false
		cancel()
	}
	s.round(AllFields, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	// A paced cell is bracketed when its last reading, not the opening
	// one, was first seen after it ended.
	bracketed := s.paced == nil || len(s.accs) > 0 && s.accs[0].n > 1 && s.accs[0].last.After(end)
	devs := make([]DeviceStats, len(s.accs))
	for i, a := range s.accs {
		devs[i] = a.stats(s.src.Devices()[i].Index, s.paced != nil, bracketed)
	}
	w := cellStats(devs)
	w.Source, w.IntervalS = "nvml", s.interval.Seconds()
	if devices := s.src.Devices(); len(devices) > 0 && devices[0].Source != "" {
		w.Source = devices[0].Source
	}
	if len(s.accs) > 0 {
		w.Readings, w.EnergySpanS = s.accs[0].n, round2(s.accs[0].span())
	}
	if s.paced != nil && len(s.accs) > 0 {
		// Folded: the opening reading, those during the cell, and the
		// closing one when it came.
		w.IntervalS, w.Readings = round2(s.paced.Interval().Seconds()), s.accs[0].n-1
		if bracketed {
			w.Readings--
		} else {
			w.EnergySpanS = 0 // no energy was given: it spans nothing
		}
	}
	w.TooCoarse = w.Readings < MinReadings
	s.cell, s.accs = "", nil
	return w
}

// Stop ends sampling and flushes the timeline.
func (s *Sampler) Stop() error {
	if s.stopc != nil {
		close(s.stopc)
		<-s.done
		s.stopc = nil
	}
	var err error
	if s.timeline != nil {
		err = s.timeline.Flush()
	}
	return errors.Join(err, s.src.Close())
}
