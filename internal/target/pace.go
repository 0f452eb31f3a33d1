package target

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/pace"
	"github.com/llm-platform/harness/internal/record"
)

// PaceProbe sends vus non-streamed requests at once (so that a buffering
// proxy cannot hide the pace) and returns their median time: package
// pace's probe.
func (t *Target) PaceProbe(vus int) pace.Send {
	return func(ctx context.Context, tokens int) (time.Duration, error) {
		cl, err := openai.New(openai.Config{Endpoint: t.Endpoint, Model: t.Model, MaxTokens: tokens, NoStream: true, MaxConns: vus,
			Messages: []openai.Message{{Role: "user", Content: "Count slowly."}}})
		if err != nil {
			return 0, err
		}
		defer cl.Close()
		recs := make([]record.Record, vus)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() { cl.Do(ctx, &recs[i]) })
		}
		wg.Wait()
		ds := make([]time.Duration, 0, vus)
		for _, rec := range recs {
			if !rec.Succeeded() {
				return 0, fmt.Errorf("%s %s", rec.Class, rec.Err)
			}
			ds = append(ds, rec.End.Sub(rec.Start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2], nil
	}
}
