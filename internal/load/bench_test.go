package load

import (
	"context"
	"testing"

	"github.com/llm-platform/harness/internal/record"
)

// BenchmarkOpenLoopDispatch is the engine's own cost per open-loop request
// (the pacer, the hand-off, the record) with a Doer that does nothing, at
// a rate no machine keeps: every start is already due. ns/op is per
// request. The share's check (Plan.Share) runs on this path.
func BenchmarkOpenLoopDispatch(b *testing.B) {
	for _, share := range []Share{{}, {Index: 1, Of: 4}} {
		name := "whole"
		if share.Of > 0 {
			name = "share-1-of-4"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			p := Plan{Rate: 1e7, Requests: b.N * max(share.Of, 1), MaxInFlight: 4, Share: share}
			if _, err := Run(context.Background(), p, nopDoer{}, Discard); err != nil {
				b.Fatal(err)
			}
		})
	}
}

type nopDoer struct{}

func (nopDoer) Do(context.Context, *record.Record) {}
