package nginx

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/pace"
)

// The lessons' generations are sized from the target's own token speed, so
// that a timeout spec means the same on the lab's simulator, an RTX 3060
// (~8 ms per token for TinyLlama) and a datacenter GPU (~2 ms): a
// generation lasts OutlastFactor times the duration it must outlast, and at
// least MinOutlastFactor times when the model's context caps it.
const (
	OutlastFactor    = 3.0
	MinOutlastFactor = 1.5
	// PromptAllowance is the context kept for the chat-templated prompt.
	PromptAllowance = 64
	// DefaultContext is TinyLlama's context window, used where /v1/models
	// does not report max_model_len.
	DefaultContext = 2048
)

// Generation is a target's measured generation speed and context.
type Generation struct {
	// PerToken is the time each extra output token adds to a generation.
	PerToken time.Duration
	// Context is the model's context window (max_model_len).
	Context int
}

// MaxOutput is the longest generation the context allows for a short prompt.
func (p Generation) MaxOutput() int { return max(1, p.Context-PromptAllowance) }

// MeasurePace measures t's per-token time (package pace) with non-streamed
// generations.
// Non-streamed, so a buffering proxy cannot hide the pace, and the slope
// leaves prefill and the network out.
func MeasurePace(ctx context.Context, t Address) (Generation, error) {
	p := Generation{Context: DefaultContext}
	if models, err := openai.Models(ctx, t.httpClient(), t.endpoint()); err == nil {
		for _, m := range models {
			if m.ID == t.Model && m.MaxModelLen > 0 {
				p.Context = m.MaxModelLen
			}
		}
	}
	measured, err := pace.Measure(ctx, func(ctx context.Context, tokens int) (time.Duration, error) {
		rec, err := CheckLongGeneration(ctx, t, tokens)
		return rec.End.Sub(rec.Start), err
	})
	if err != nil {
		return p, fmt.Errorf("ingress: measuring the token pace: %w", err)
	}
	p.PerToken = measured.PerToken
	if p.PerToken <= 0 {
		return p, fmt.Errorf("ingress: measuring the token pace: %d tokens took no longer than 1 (%v): no measurable per-token time", 1+pace.ProbeTokens, measured.First)
	}
	return p, nil
}

// TokensToOutlast returns the output length whose generation at pace lasts
// OutlastFactor times d, capped by the context; an error when even the cap
// lasts less than MinOutlastFactor times d, naming the figures.
func TokensToOutlast(d time.Duration, p Generation) (int, error) {
	if p.PerToken <= 0 || d <= 0 {
		return 0, fmt.Errorf("ingress: tokens to outlast %v at %v per token: both must be > 0", d, p.PerToken)
	}
	n := int(math.Ceil(OutlastFactor * float64(d) / float64(p.PerToken)))
	n = min(n, p.MaxOutput())
	if got := time.Duration(n) * p.PerToken; float64(got) < MinOutlastFactor*float64(d) {
		return n, fmt.Errorf("ingress: at %v per token the longest generation the context allows (%d tokens) lasts %v, under %.1f x %v",
			p.PerToken, n, got, MinOutlastFactor, d)
	}
	return n, nil
}
