package trace

import (
	"fmt"
	"math"
	"strings"
)

// The ways to fit a trace to a model's window (PERF_TRACE_FIT).
const (
	// FitScale multiplies every input length and the block size by one
	// factor so the longest request fits with its output: the trace's
	// shape and prefix sharing kept, every request served. The default:
	// a trace taken on a large-context model is otherwise mostly refusals
	// on a small one (54 of the first 60 requests of Mooncake's
	// conversation trace are over TinyLlama's 2,048 tokens).
	FitScale = "scale"
	// FitClip cuts only the over-long requests' inputs to fit.
	FitClip = "clip"
	// FitSkip leaves the over-long requests out.
	FitSkip = "skip"
	// FitNone sends every request as it is: the over-long ones come back
	// as context_overflow.
	FitNone = "none"
)

// FitModes lists them, for messages.
var FitModes = []string{FitScale, FitClip, FitSkip, FitNone}

// CacheBlock is vLLM's KV cache block in tokens: scaled blocks are a
// multiple of it (and at least one), so prompts that share a block still
// share whole cache blocks and hit the prefix cache.
const CacheBlock = 16

// Fitted says what Fit did.
type Fitted struct {
	Mode   string
	Window int
	// Over is how many requests exceeded the window as read.
	Over, Requests int
	// Factor is scale's factor on input lengths (1 when nothing was
	// scaled) and BlockTokens the block size after it.
	Factor      float64
	BlockTokens int
	// Blocks says the trace has hash_ids (Mooncake's): BlockTokens matters.
	Blocks bool
	// Clipped requests had their input cut to fit (clip, or scale's
	// remainder when the block minimum kept the factor above what the
	// longest needs); OutputCut had an output alone over the window,
	// cut to leave one cache block of input; Skipped were left out.
	Clipped, OutputCut, Skipped int
}

// String is the report's line on it, "" when the trace fit as it was.
func (f Fitted) String() string {
	if f.Over == 0 {
		return ""
	}
	var parts []string
	switch f.Mode {
	case FitNone:
		return fmt.Sprintf("%d of %d requests exceed max_model_len %d (input plus output) and were sent as they are (PERF_TRACE_FIT=none): expect as many context_overflow", f.Over, f.Requests, f.Window)
	case FitScale:
		parts = append(parts, fmt.Sprintf("every input length scaled by %.4g", f.Factor))
		if f.Blocks {
			parts[0] += fmt.Sprintf(" (hash_ids blocks %d tokens)", f.BlockTokens)
		}
	case FitSkip:
		parts = append(parts, fmt.Sprintf("%d left out", f.Skipped))
	}
	if f.Clipped > 0 {
		parts = append(parts, fmt.Sprintf("%d inputs clipped to fit", f.Clipped))
	}
	if f.OutputCut > 0 {
		parts = append(parts, fmt.Sprintf("%d outputs alone over the window cut to %d tokens", f.OutputCut, f.Window-CacheBlock))
	}
	return fmt.Sprintf("%d of %d requests exceeded max_model_len %d; PERF_TRACE_FIT=%s: %s", f.Over, f.Requests, f.Window, f.Mode, strings.Join(parts, "; "))
}

// Fit returns t fitted to window tokens (a request fits when its input
// plus its output is at most window, as vLLM and llm-d-inference-sim
// check) by mode, with the hash_ids block size to build its prompts with.
// A window of 0 (unknown) fits everything.
func Fit(t Trace, window, blockTokens int, mode string) (Trace, int, Fitted) {
	f := Fitted{Mode: mode, Window: window, Requests: len(t), Factor: 1, BlockTokens: blockTokens}
	if window <= 0 {
		return t, blockTokens, f
	}
	for _, q := range t {
		if q.InputLength+q.OutputLength > window {
			f.Over++
		}
		f.Blocks = f.Blocks || len(q.HashIDs) > 0
	}
	if f.Over == 0 || mode == FitNone {
		return t, blockTokens, f
	}
	out := make(Trace, 0, len(t))
	for _, q := range t {
		if q.OutputLength > window-CacheBlock {
			q.OutputLength = window - CacheBlock
			f.OutputCut++
		}
		out = append(out, q)
	}
	switch mode {
	case FitSkip:
		kept := out[:0]
		for _, q := range out {
			if q.InputLength+q.OutputLength > window {
				f.Skipped++
				continue
			}
			kept = append(kept, q)
		}
		return kept, blockTokens, f
	case FitScale:
		need := 1.0
		for _, q := range out {
			need = math.Min(need, float64(window-q.OutputLength)/float64(q.InputLength))
		}
		f.BlockTokens = max(CacheBlock, int(float64(blockTokens)*need)/CacheBlock*CacheBlock)
		f.Factor = float64(f.BlockTokens) / float64(blockTokens)
		for i := range out {
			// Rounded up, so a request keeps the ⌈input/block⌉ blocks it had.
			out[i].InputLength = max(1, int(math.Ceil(float64(out[i].InputLength)*f.Factor)))
		}
	}
	for i, q := range out {
		if q.InputLength+q.OutputLength > window {
			out[i].InputLength = window - q.OutputLength
			f.Clipped++
		}
	}
	return out, f.BlockTokens, f
}
