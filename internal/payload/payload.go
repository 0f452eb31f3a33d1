// Package payload loads named request payloads (prompt plus output length)
// from YAML, the form of fixtures/payloads.yaml. It uses go.yaml.in/yaml/v3,
// the maintained continuation of gopkg.in/yaml.v3, in strict mode so a typo
// in a field name is an error rather than a silently ignored setting.
package payload

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/llm-platform/harness/fixtures"
	"github.com/llm-platform/harness/internal/openai"
)

// Payload is one named request shape.
type Payload struct {
	Name        string           `yaml:"-" json:"name"`
	Description string           `yaml:"description" json:"description,omitempty"`
	MaxTokens   int              `yaml:"max_tokens" json:"max_tokens"`
	Messages    []openai.Message `yaml:"messages" json:"messages"`
	// InputTokens, when set, is the whole prompt's length in tokens, chat
	// template included, fixed or drawn from a distribution: the sweep
	// fills the last user message with text from fixtures/corpus.txt up to
	// it, sized through the target's /tokenize (package promptlen), and
	// checks every request's usage.prompt_tokens against it.
	InputTokens Length `yaml:"input_tokens" json:"input_tokens,omitzero"`
	// PrefixTokens and PrefixGroups make the requests share prefixes:
	// PrefixGroups distinct system prompts of PrefixTokens tokens each, the
	// requests taking them in turn, so vLLM's prefix cache can serve all but
	// each group's first request from cache.
	PrefixTokens int `yaml:"prefix_tokens" json:"prefix_tokens,omitempty"`
	PrefixGroups int `yaml:"prefix_groups" json:"prefix_groups,omitempty"`
	// Prompts, when set, are the sized prompts (the sweep fills them in):
	// the requests of a cell take them in turn, instead of Messages.
	Prompts []openai.Prompt `yaml:"-" json:"-"`
}

// Set is a collection of payloads by name.
type Set map[string]Payload

type file struct {
	Payloads map[string]Payload `yaml:"payloads"`
}

// Parse decodes and validates a payloads document; src names it in errors.
func Parse(src string, b []byte) (Set, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("payload: %s: %w", src, err)
	}
	if len(f.Payloads) == 0 {
		return nil, fmt.Errorf("payload: %s: payloads: none defined", src)
	}
	set := Set{}
	for name, p := range f.Payloads {
		p.Name = name
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("payload: %s: payloads.%s.%w", src, name, err)
		}
		set[name] = p
	}
	return set, nil
}

func (p Payload) validate() error {
	if p.MaxTokens <= 0 {
		return fmt.Errorf("max_tokens: %d: must be > 0", p.MaxTokens)
	}
	if len(p.Messages) == 0 {
		return errors.New("messages: at least one is needed")
	}
	switch {
	case p.PrefixTokens < 0 || p.PrefixGroups < 0:
		return fmt.Errorf("prefix_tokens, prefix_groups: %d, %d: must be > 0 (or left out)", p.PrefixTokens, p.PrefixGroups)
	case (p.PrefixTokens > 0) != (p.PrefixGroups > 0):
		return errors.New("prefix_tokens, prefix_groups: set both or neither")
	case p.PrefixGroups > Prompts:
		return fmt.Errorf("prefix_groups: %d: at most %d", p.PrefixGroups, Prompts)
	}
	if err := p.InputTokens.validate(); err != nil {
		return fmt.Errorf("input_tokens: %w", err)
	}
	for i, m := range p.Messages {
		switch {
		case m.Role != "system" && m.Role != "user" && m.Role != "assistant":
			return fmt.Errorf("messages[%d].role: %q: want system, user or assistant", i, m.Role)
		case m.Content == "":
			return fmt.Errorf("messages[%d].content: must not be empty", i)
		}
	}
	return nil
}

// Default returns the committed fixtures/payloads.yaml.
func Default() (Set, error) { return Parse("fixtures/payloads.yaml", fixtures.Payloads) }

// Load reads a payloads file; an empty path means Default.
func Load(path string) (Set, error) {
	if path == "" {
		return Default()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return Parse(path, b)
}

// Get returns the named payload, or an error naming the ones there are.
func (s Set) Get(name string) (Payload, error) {
	p, ok := s[name]
	if !ok {
		return Payload{}, fmt.Errorf("payload: %q: unknown payload (have %s)", name, strings.Join(s.Names(), ", "))
	}
	return p, nil
}

// Names lists the payload names, sorted.
func (s Set) Names() []string {
	n := make([]string, 0, len(s))
	for k := range s {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
