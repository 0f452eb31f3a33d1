package target

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/trace"
)

// words is a tokenizer whose count is plain: a token per word, and two per
// message for the template.
func words(_ context.Context, msgs []openai.Message) (int, error) {
	n := 0
	for _, m := range msgs {
		n += 2 + len(strings.Fields(m.Content))
	}
	return n, nil
}

// TestTracePartialBlocks: Mooncake's convention, a request's blocks cover
// its input and the last is partial, sizes every consistent request
// exactly, its partial block a prefix of the whole block's text (so a
// prefix cache shares it to the word); fewer blocks than the length needs
// are a shared prefix with the request's own text after; more are cut and
// said so.
func TestTracePartialBlocks(t *testing.T) {
	ctx := context.Background()
	b := traceBlocks{tok: words, size: 64, texts: map[int]string{}}
	for i, tc := range []struct {
		q        trace.Request
		cut      bool
		wantLast int // the block whose text the prompt ends with, cut short
	}{
		{trace.Request{InputLength: 150, HashIDs: []int{1, 2, 3}}, false, 3}, // 64 + 64 + 22
		{trace.Request{InputLength: 180, HashIDs: []int{1, 2, 4}}, false, 4}, // shares 1 and 2, and 4 is its own
		{trace.Request{InputLength: 128, HashIDs: []int{1, 2}}, false, 2},    // the last block whole, less the template
		{trace.Request{InputLength: 300, HashIDs: []int{1}}, false, 0},       // a prefix, then its own text
		{trace.Request{InputLength: 100, HashIDs: []int{5, 6, 7}}, true, 6},  // 3 blocks cannot fit 100 tokens: cut to 2
	} {
		msgs, got, cut, err := b.prompt(ctx, i, tc.q)
		if err != nil || got != tc.q.InputLength || cut != tc.cut {
			t.Errorf("request %d: %d tokens (want %d), cut %v (want %v), %v", i, got, tc.q.InputLength, cut, tc.cut, err)
			continue
		}
		system := msgs[0].Content
		whole1, _ := b.text(ctx, tc.q.HashIDs[0])
		if !strings.HasPrefix(system, whole1) {
			t.Errorf("request %d: does not start with block %d's whole text", i, tc.q.HashIDs[0])
		}
		if tc.wantLast == 0 {
			continue
		}
		whole, _ := b.text(ctx, tc.wantLast)
		start := strings.LastIndex(system, blockHeader(tc.wantLast))
		part := system[start:]
		if start < 0 || !strings.HasPrefix(whole, part) || len(part) >= len(whole) && tc.q.InputLength%64 != 0 {
			t.Errorf("request %d: its last block is not a prefix of block %d's text:\n%q\n%q", i, tc.wantLast, part, whole)
		}
	}
}
