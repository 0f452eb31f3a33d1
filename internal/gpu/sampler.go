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
type Sampler struct {
	src      Source
	interval time.Duration
	timeline *Timeline // may be nil

	mu         sync.Mutex // guards the fields below and serialises rounds
	cell       string
	accs       []*acc
	smp        Sample
	lastEnergy time.Time
	stopc      chan struct{}
	done       chan struct{}
}

// NewSampler returns a Sampler of src every interval (at least MinInterval),
// writing to timeline when it is not nil.
func NewSampler(src Source, interval time.Duration, timeline *Timeline) (*Sampler, error) {
	if interval < MinInterval {
		return nil, fmt.Errorf("gpu: interval %v: must be at least %v", interval, MinInterval)
	}
	return &Sampler{src: src, interval: interval, timeline: timeline}, nil
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
				s.round(AllFields &^ Energy)
			}
		}
	}()
}

// round samples every device once, reading the fields in want (and the
// energy counter when EnergyEvery has passed).
func (s *Sampler) round(want Field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.lastEnergy) >= EnergyEvery {
		want |= Energy
	}
	if want&Energy != 0 {
		s.lastEnergy = now
	}
	for i := range s.src.Devices() {
		s.smp = Sample{Time: now, Device: i, Read: want}
		s.src.Sample(i, &s.smp)
		if s.timeline != nil {
			s.timeline.write(&s.smp, s.src.Devices()[i], s.cell)
		}
		if s.accs != nil {
			s.accs[i].add(&s.smp)
		}
	}
	if s.timeline != nil {
		_ = s.timeline.Flush() // per round: a killed run keeps its timeline; errors surface at Stop
	}
}

// BeginCell opens a cell: from now on samples fold into it. It samples at
// once, so the cell's first sample is at its start.
func (s *Sampler) BeginCell(name string) {
	s.mu.Lock()
	s.cell = name
	s.accs = make([]*acc, len(s.src.Devices()))
	for i := range s.accs {
		s.accs[i] = newAcc()
	}
	s.mu.Unlock()
	s.round(AllFields)
}

// EndCell samples once more and closes the cell, returning its figures.
func (s *Sampler) EndCell() Window {
	s.round(AllFields)
	s.mu.Lock()
	defer s.mu.Unlock()
	devs := make([]DeviceStats, len(s.accs))
	for i, a := range s.accs {
		devs[i] = a.stats(s.src.Devices()[i].Index)
	}
	s.cell, s.accs = "", nil
	return cellStats(devs)
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
