// Package pace measures a target's generation speed: the time to a
// one-token answer and what each further output token adds, as the slope
// between generations of 1 and 1+ProbeTokens tokens (the median of Samples
// each). The e2e suite sizes its timeout lessons from it (package ingress)
// and the perf suite estimates its plan from it (package sweep); each
// brings its own way of sending the probe.
package pace

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ProbeTokens is the extra tokens the long probe asks for; Samples the
// probes per length (the median is kept, so one hiccup does not count).
const ProbeTokens, Samples = 16, 3

// Time is a measured pace.
type Time struct {
	// First is a one-token generation's time (prefill, the network).
	First time.Duration
	// PerToken is what each further output token adds.
	PerToken time.Duration
}

// Of is the time of a generation of n output tokens.
func (t Time) Of(n int) time.Duration {
	return t.First + time.Duration(max(n-1, 0))*t.PerToken
}

// Send times one generation of tokens output tokens.
type Send func(ctx context.Context, tokens int) (time.Duration, error)

// Measure runs the probes and returns the pace; PerToken is never
// negative (a slope lost in noise reads 0).
func Measure(ctx context.Context, probe Send) (Time, error) {
	median := func(tokens int) (time.Duration, error) {
		ds := make([]time.Duration, 0, Samples)
		for range Samples {
			d, err := probe(ctx, tokens)
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2], nil
	}
	first, err := median(1)
	if err != nil {
		return Time{}, fmt.Errorf("pace: a 1-token generation: %w", err)
	}
	long, err := median(1 + ProbeTokens)
	if err != nil {
		return Time{}, fmt.Errorf("pace: a %d-token generation: %w", 1+ProbeTokens, err)
	}
	return Time{First: first, PerToken: max(long-first, 0) / ProbeTokens}, nil
}
