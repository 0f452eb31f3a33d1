package load

import "github.com/llm-platform/harness/internal/record"

// Tee returns a Sink that gives each record to every sink in order.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) Add(worker int, rec *record.Record) {
	for _, s := range t {
		s.Add(worker, rec)
	}
}
