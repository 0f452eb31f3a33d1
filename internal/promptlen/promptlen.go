// Package promptlen sizes a prompt to an exact number of tokens, as the
// target's own tokenizer counts them with its chat template: a payload's
// messages come first, and text from a corpus (fixtures/corpus.txt) fills
// its last user message up to the count asked for. vLLM's benchmark
// realigns its random prompts through the server's /tokenize the same way.
//
// Fit asks a Tokenizer: the target's POST /tokenize when it has one, else
// an estimate the caller supplies (and flags). It searches the number of
// corpus words to append, then pads with one short unit at a time (" a",
// a single token in the BPE vocabularies of Llama-family models) to land
// exactly on the count.
package promptlen

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/llm-platform/harness/internal/openai"
)

// Tokenizer counts the tokens of messages as the server will, its chat
// template included.
type Tokenizer func(ctx context.Context, messages []openai.Message) (int, error)

// ErrInexact means no filling counted exactly n tokens: the tokenizer
// merged the padding so the count jumped past n. Fit then returns the
// longest fit below n.
var ErrInexact = errors.New("promptlen: no filling counts exactly")

// pad is the unit appended one at a time to land on the count.
const pad = " a"

// maxPad bounds the padding units tried after the word search.
const maxPad = 64

// Fit returns messages whose token count is n, and that count (n, or the
// closest below with ErrInexact). messages must have a user message; n must
// be at least the messages' own count.
func Fit(ctx context.Context, tok Tokenizer, messages []openai.Message, n int, corpus string) ([]openai.Message, int, error) {
	return FitFrom(ctx, tok, messages, n, corpus, 0)
}

// FitFrom is Fit with corpus words from the offset-th on: prompts of one
// length from distinct offsets differ from their first filled word, so a
// prefix cache cannot serve one from another (vLLM's random prompts do not
// share either).
func FitFrom(ctx context.Context, tok Tokenizer, messages []openai.Message, n int, corpus string, offset int) ([]openai.Message, int, error) {
	last := -1
	for i, m := range messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return nil, 0, errors.New("promptlen: the messages have no user message to fill")
	}
	return FitAt(ctx, tok, messages, last, n, corpus, offset)
}

// FitAt is Fit filling message at (any role), with corpus words from the
// offset-th on: distinct offsets give distinct texts (a shared prefix per
// group, say).
func FitAt(ctx context.Context, tok Tokenizer, messages []openai.Message, at, n int, corpus string, offset int) ([]openai.Message, int, error) {
	last := at
	if at < 0 || at >= len(messages) {
		return nil, 0, fmt.Errorf("promptlen: no message %d to fill", at)
	}
	words := strings.Fields(corpus)
	if len(words) == 0 {
		return nil, 0, errors.New("promptlen: empty corpus")
	}
	with := func(k, pads int) []openai.Message {
		out := append([]openai.Message(nil), messages...)
		var b strings.Builder
		b.WriteString(out[last].Content)
		if k > 0 {
			b.WriteString("\n\n")
			for i := range k {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[(offset+i)%len(words)])
			}
		}
		b.WriteString(strings.Repeat(pad, pads))
		out[last].Content = b.String()
		return out
	}
	count := func(k, pads int) (int, error) { return tok(ctx, with(k, pads)) }

	base, err := count(0, 0)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case base > n:
		return nil, base, fmt.Errorf("promptlen: %d tokens asked, but the messages alone are %d", n, base)
	case base == n:
		return messages, n, nil
	}
	// The largest number of words that keeps the count at most n: every
	// word is at least one token, so n words are always too many.
	lo, hi := 0, n
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		c, err := count(mid, 0)
		if err != nil {
			return nil, 0, err
		}
		if c <= n {
			lo = mid
		} else {
			hi = mid
		}
	}
	best, bestCount := with(lo, 0), 0
	for p := 0; p <= maxPad; p++ {
		c, err := count(lo, p)
		if err != nil {
			return nil, 0, err
		}
		if c == n {
			return with(lo, p), n, nil
		}
		if c > n {
			break
		}
		best, bestCount = with(lo, p), c
	}
	if bestCount == 0 {
		bestCount, _ = count(lo, 0)
	}
	return best, bestCount, fmt.Errorf("%w: %d tokens asked, %d reached", ErrInexact, n, bestCount)
}

// Estimate is the Tokenizer for a target without /tokenize: about four
// characters a token, and four for each message's template. Its counts are
// a guess, and the caller says so.
func Estimate(_ context.Context, messages []openai.Message) (int, error) {
	n := 0
	for _, m := range messages {
		n += 4 + (len(m.Content)+3)/4
	}
	return max(n, 1), nil
}
