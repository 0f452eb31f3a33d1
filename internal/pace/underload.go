package pace

import (
	"context"
	"fmt"
	"time"
)

// UnderLoad is a target's measured speed alone and under load: continuous
// batching slows each sequence as others join it (an RTX 3060 decodes
// TinyLlama at about 8 ms a token alone and 13 at 16 sequences).
type UnderLoad struct {
	Alone Time
	// Busy is the pace with BusyVUs requests at once (the plan's most);
	// BusyVUs 0: not measured, Alone holds throughout.
	Busy    Time
	BusyVUs int
}

// At is the pace with vus requests at once, linear between the two
// measurements (and Busy's beyond it).
func (p UnderLoad) At(vus int) Time {
	if p.BusyVUs <= 1 || vus <= 1 {
		return p.Alone
	}
	f := min(float64(vus-1)/float64(p.BusyVUs-1), 1)
	lerp := func(a, b time.Duration) time.Duration { return a + time.Duration(f*float64(b-a)) }
	return Time{First: lerp(p.Alone.First, p.Busy.First), PerToken: lerp(p.Alone.PerToken, p.Busy.PerToken)}
}

// MeasureUnderLoad times probe(1) alone, and probe(vus), vus requests at
// once, when vus > 1.
func MeasureUnderLoad(ctx context.Context, probe func(vus int) Send, vus int) (UnderLoad, error) {
	var p UnderLoad
	var err error
	if p.Alone, err = Measure(ctx, probe(1)); err != nil {
		return p, fmt.Errorf("pace: measuring the token pace: %w", err)
	}
	if vus > 1 {
		if p.Busy, err = Measure(ctx, probe(vus)); err != nil {
			return p, fmt.Errorf("pace: measuring the token pace, %d at once: %w", vus, err)
		}
		p.BusyVUs = vus
	}
	return p, nil
}
