package promptlen

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/llm-platform/harness/fixtures"
	"github.com/llm-platform/harness/internal/openai"
)

// words is a BPE-like tokenizer: 3 template tokens per message, one token
// per word, two for a word longer than 7 letters.
func words(_ context.Context, msgs []openai.Message) (int, error) {
	n := 0
	for _, m := range msgs {
		n += 3
		for _, w := range strings.Fields(m.Content) {
			n++
			if len(w) > 7 {
				n++
			}
		}
	}
	return n, nil
}

var question = []openai.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What does a GPU do?"}}

func TestFitIsExact(t *testing.T) {
	for _, tok := range map[string]Tokenizer{"words": words, "estimate": Estimate} {
		base, _ := tok(context.Background(), question)
		for _, n := range []int{base, base + 1, base + 2, base + 7, 100, 512, 2000} {
			msgs, got, err := Fit(context.Background(), tok, question, n, fixtures.Corpus)
			if err != nil || got != n {
				t.Fatalf("n=%d: %v, %d", n, err, got)
			}
			if c, _ := tok(context.Background(), msgs); c != n {
				t.Fatalf("n=%d: the fitted messages count %d", n, c)
			}
			if msgs[0] != question[0] || !strings.HasPrefix(msgs[1].Content, question[1].Content) {
				t.Fatalf("n=%d: the payload's own text changed: %+v", n, msgs)
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	if _, got, err := Fit(context.Background(), words, question, 3, fixtures.Corpus); err == nil || !strings.Contains(err.Error(), "the messages alone are") || got != 13 {
		t.Errorf("fewer than the messages: %v, %d", err, got)
	}
	if _, _, err := Fit(context.Background(), words, []openai.Message{{Role: "system", Content: "x"}}, 50, fixtures.Corpus); err == nil {
		t.Error("no user message: no error")
	}
	// A tokenizer that counts the padding two at a time can skip n: the
	// longest fit below it comes back, with ErrInexact.
	coarse := func(ctx context.Context, m []openai.Message) (int, error) {
		n, _ := words(ctx, m)
		return n + strings.Count(m[len(m)-1].Content, pad), nil
	}
	if _, got, err := Fit(context.Background(), coarse, question, 41, "bcdefghijk"); !errors.Is(err, ErrInexact) || got != 40 {
		t.Errorf("coarse padding: %v, %d", err, got)
	}
}
