package target

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/llm-platform/harness/fixtures"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/promptlen"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/trace"
)

// Selection is the payloads a run sends.
type Selection struct {
	// Set is the payloads file; Names, the payloads of the sweep.
	Set   payload.Set
	Names []string
	// Replay, when not nil, is a trace whose own prompts (one payload,
	// ReplayName, its hash_ids blocks BlockTokens each) replace Names.
	Replay      trace.Trace
	ReplayName  string
	BlockTokens int
	// Fit is how a trace request over the model's window is fitted
	// (trace.FitScale, ...), Window the window (0: the server's
	// max_model_len), and ReplayNote what reading the trace found.
	Fit        string
	Window     int
	ReplayNote string
	// Format is the trace's format, for the results.
	Format string
}

// Prepare sizes the payloads' prompts for the target (their input_tokens
// and shared prefixes through its /tokenize), or builds the trace's, and
// keeps them in t.Payloads; it describes each payload for the results.
func (t *Target) Prepare(ctx context.Context, p Selection) (map[string]results.PayloadInfo, error) {
	t.Payloads = maps.Clone(p.Set)
	info := map[string]results.PayloadInfo{}
	if p.Replay != nil {
		window := p.Window
		if window == 0 {
			window = t.maxModelLen(ctx)
		}
		fitted, blocks, how := trace.Fit(p.Replay, window, p.BlockTokens, p.Fit)
		tp, note, err := t.TracePayload(ctx, p.ReplayName, fitted, blocks)
		if err != nil {
			return info, fmt.Errorf("PERF_TRACE: %w", err)
		}
		t.Payloads[tp.Name], t.Replay = tp, fitted
		var parts []string
		for _, s := range []string{p.ReplayNote, how.String(), note} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		note = strings.Join(parts, "; ")
		info[tp.Name] = results.PayloadInfo{MaxTokens: tp.MaxTokens, InputNote: note, TraceRequests: len(tp.Prompts),
			TraceFormat: p.Format, TraceFit: p.Fit, MaxModelLen: window}
	}
	for _, name := range p.Names {
		pl, err := p.Set.Get(name)
		if err != nil {
			return info, err
		}
		rp := results.PayloadInfo{MaxTokens: pl.MaxTokens}
		if pl.InputTokens.IsSet() || pl.PrefixGroups > 0 {
			fitted, note, err := t.SizePrompts(ctx, pl)
			if err != nil {
				return info, fmt.Errorf("payload %s: input_tokens: %w", name, err)
			}
			t.Payloads[name] = fitted
			rp.InputNote, rp.PrefixTokens, rp.PrefixGroups = note, pl.PrefixTokens, pl.PrefixGroups
			switch {
			case pl.InputTokens.Distribution != "":
				rp.InputDistribution = pl.InputTokens.String()
			case pl.InputTokens.IsSet():
				rp.InputTokens = fitted.Prompts[0].Tokens
			}
		}
		info[name] = rp
	}
	return info, nil
}

// tokenizer counts prompts as the target does, through its /tokenize; for
// a target without one it is the estimate, and note says so.
func (t *Target) tokenizer(ctx context.Context) (promptlen.Tokenizer, string, error) {
	tok := func(ctx context.Context, msgs []openai.Message) (int, error) {
		sctx, cancel := context.WithTimeout(ctx, RequestTimeout)
		defer cancel()
		return openai.Tokenize(sctx, t.HTTP, t.Endpoint, t.Model, msgs)
	}
	switch _, err := tok(ctx, []openai.Message{{Role: "user", Content: "x"}}); {
	case errors.Is(err, openai.ErrNoTokenize):
		return promptlen.Estimate, "estimated: the target has no /tokenize (about 4 characters a token)", nil
	case err != nil:
		return nil, "", err
	}
	return tok, "", nil
}

// SizePrompts fills p's prompts to its input_tokens (each count of a
// distribution) as the target counts them (its /tokenize), and says how
// when not exactly: estimated for a target without /tokenize, or the counts
// reached when no filling was exact.
func (t *Target) SizePrompts(ctx context.Context, p payload.Payload) (payload.Payload, string, error) {
	tok, note, err := t.tokenizer(ctx)
	if err != nil {
		return p, "", err
	}
	// Shared prefixes: one system prompt per group, sized to PrefixTokens,
	// each from its own place in the corpus; prompt i belongs to group
	// i mod PrefixGroups and ends with its own tag, so a group's prompts
	// share the prefix and differ after it.
	var prefixes []string
	for g := range p.PrefixGroups {
		msgs, _, err := promptlen.FitAt(ctx, tok, []openai.Message{{Role: "system", Content: fmt.Sprintf("Reference %d.", g+1)}}, 0,
			p.PrefixTokens, fixtures.Corpus, 53*g)
		if err != nil && !errors.Is(err, promptlen.ErrInexact) {
			return p, "", fmt.Errorf("prefix_tokens: %w", err)
		}
		prefixes = append(prefixes, msgs[0].Content)
	}
	// Every sized or prefixed payload gets payload.Prompts distinct prompts,
	// which the requests take in turn: a fixed length from distinct places
	// in the corpus, so that no two share more than the payload's own text
	// (and a prefix cache serves only what the workload designed to share).
	var counts []int
	if p.InputTokens.IsSet() {
		counts = p.InputTokens.Counts()
	}
	n := payload.Prompts
	var inexact []string
	for i := range n {
		msgs := p.Messages
		if len(prefixes) > 0 {
			msgs = withPrefix(msgs, prefixes[i%len(prefixes)], i)
		}
		if counts == nil {
			got, err := tok(ctx, msgs)
			if err != nil {
				return p, "", err
			}
			if note != "" {
				got = 0 // an estimate: nothing to check the usage against
			}
			p.Prompts = append(p.Prompts, openai.Prompt{Messages: msgs, Tokens: got})
			continue
		}
		want := counts[i%len(counts)]
		fitted, got, err := promptlen.FitFrom(ctx, tok, msgs, want, fixtures.Corpus, 211*i)
		switch {
		case errors.Is(err, promptlen.ErrInexact):
			inexact = append(inexact, fmt.Sprintf("%d asked, %d reached", want, got))
		case err != nil:
			return p, "", err
		}
		p.Prompts = append(p.Prompts, openai.Prompt{Messages: fitted, Tokens: got})
	}
	if len(inexact) > 0 {
		note = strings.TrimSpace(note + " inexact: no filling counted exactly (" + strings.Join(inexact, ", ") + ")")
	}
	return p, note, nil
}

// TracePayload builds a trace's prompts, each sized through the target's
// /tokenize to its input_length, with its output_length. A block (a hash_id)
// is a system-prompt text of the trace's block tokens, the same text
// wherever the same id appears, so the prefix cache sees the sharing the
// trace had. As in Mooncake's traces, a request's blocks cover its whole
// input and the last one is partial (6,758 tokens are 14 blocks of 512,
// the 14th holding 102): that block is cut to what the input leaves, a
// prefix of the whole block's text, so prefixes stay shared to the word.
// A request with fewer blocks than its length needs has them as a shared
// prefix and a text of its own after them; one with more is cut to the
// blocks its length holds, and counted.
func (t *Target) TracePayload(ctx context.Context, name string, tr trace.Trace, blockTokens int) (payload.Payload, string, error) {
	tok, note, err := t.tokenizer(ctx)
	if err != nil {
		return payload.Payload{}, "", err
	}
	b := traceBlocks{tok: tok, size: blockTokens, texts: map[int]string{}}
	p := payload.Payload{Name: name, MaxTokens: tr.MaxOutput()}
	var short, cut int
	for i, q := range tr {
		fitted, got, wasCut, err := b.prompt(ctx, i, q)
		if err != nil && !errors.Is(err, promptlen.ErrInexact) && !errors.Is(err, errBlocksTooLong) {
			return p, "", err
		}
		if err != nil {
			short++
		}
		if wasCut {
			cut++
		}
		if note != "" {
			got = 0 // an estimate: nothing to check the usage against
		}
		p.Prompts = append(p.Prompts, openai.Prompt{Messages: fitted, Tokens: got, MaxTokens: q.OutputLength})
	}
	if cut > 0 {
		note = strings.TrimSpace(note + fmt.Sprintf(" %d of %d requests had more hash_ids blocks than their input_length holds at %d tokens a block: cut to the blocks it holds", cut, len(tr), blockTokens))
	}
	if short > 0 {
		note = strings.TrimSpace(note + fmt.Sprintf(" %d of %d requests could not be sized to their input_length exactly (their whole blocks alone were longer, or no filling counted exactly)", short, len(tr)))
	}
	return p, note, nil
}

// errBlocksTooLong: a request's whole blocks alone exceed its input_length.
var errBlocksTooLong = errors.New("the whole blocks alone exceed the input length")

// traceBlocks makes a trace's block texts, once per hash_id.
type traceBlocks struct {
	tok   promptlen.Tokenizer
	size  int
	texts map[int]string
}

// header is the start of block id's text; its filling follows.
func blockHeader(id int) string { return fmt.Sprintf("Block %d.", id) }

// text is block id's whole text, size tokens.
func (b traceBlocks) text(ctx context.Context, id int) (string, error) {
	if s, ok := b.texts[id]; ok {
		return s, nil
	}
	msgs, _, err := promptlen.FitAt(ctx, b.tok, []openai.Message{{Role: "system", Content: blockHeader(id)}}, 0, b.size, fixtures.Corpus, 997*id)
	if err != nil && !errors.Is(err, promptlen.ErrInexact) {
		return "", err
	}
	b.texts[id] = msgs[0].Content
	return b.texts[id], nil
}

// prompt is request i's messages and their token count: its whole blocks,
// then its last block cut to what input_length leaves (or, with fewer
// blocks than the length needs, a user text of its own filled to it).
// cut says it had more blocks than its length holds.
func (b traceBlocks) prompt(ctx context.Context, i int, q trace.Request) (msgs []openai.Message, got int, cut bool, err error) {
	ids := q.HashIDs
	need := (q.InputLength + b.size - 1) / b.size
	if len(ids) > need {
		ids, cut = ids[:need], true
	}
	partial := len(ids) > 0 && len(ids) == need
	whole := ids
	if partial {
		whole = ids[:len(ids)-1]
	}
	var texts []string
	for _, id := range whole {
		s, err := b.text(ctx, id)
		if err != nil {
			return nil, 0, cut, err
		}
		texts = append(texts, s)
	}
	user := openai.Message{Role: "user", Content: fmt.Sprintf("Request %d.", i+1)}
	plain := []openai.Message{user} // the whole blocks, if any, then the user message
	if len(texts) > 0 {
		plain = []openai.Message{{Role: "system", Content: strings.Join(texts, "\n")}, user}
	}
	if partial {
		// The last block's header, then FitAt fills it from the block's own
		// words: a prefix of the whole block's text.
		system := openai.Message{Role: "system", Content: strings.Join(append(texts, blockHeader(ids[len(ids)-1])), "\n")}
		msgs, got, err = promptlen.FitAt(ctx, b.tok, []openai.Message{system, user}, 0, q.InputLength, fixtures.Corpus, 997*ids[len(ids)-1])
	} else {
		msgs, got, err = promptlen.FitFrom(ctx, b.tok, plain, q.InputLength, fixtures.Corpus, 211*i)
	}
	if msgs == nil { // the whole blocks alone are longer: sent as they are
		if got, err = b.tok(ctx, plain); err != nil {
			return nil, 0, cut, err
		}
		return plain, got, cut, errBlocksTooLong
	}
	return msgs, got, cut, err
}

// withPrefix puts a shared prefix first, as the system prompt (before the
// payload's own system prompt, in the same message), and tags the last
// user message with the prompt's number, so prompts of one group share the
// prefix and differ after it.
func withPrefix(messages []openai.Message, prefix string, i int) []openai.Message {
	out := append([]openai.Message(nil), messages...)
	if len(out) > 0 && out[0].Role == "system" {
		out[0].Content = prefix + "\n\n" + out[0].Content
	} else {
		out = append([]openai.Message{{Role: "system", Content: prefix}}, out...)
	}
	for j := len(out) - 1; j >= 0; j-- {
		if out[j].Role == "user" {
			out[j].Content += fmt.Sprintf(" (request %d)", i+1)
			break
		}
	}
	return out
}

// maxModelLen is the served model's context window from /v1/models, 0
// when the server does not say.
func (t *Target) maxModelLen(ctx context.Context) int {
	models, err := openai.Models(ctx, t.HTTP, t.Endpoint)
	if err != nil {
		return 0
	}
	for _, m := range models {
		if m.ID == t.Model {
			return m.MaxModelLen
		}
	}
	return 0
}
