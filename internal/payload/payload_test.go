package payload

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.Get("short")
	if err != nil || short.MaxTokens != 64 || short.Name != "short" {
		t.Errorf("short: %+v %v", short, err)
	}
	long, err := s.Get("long")
	if err != nil || long.MaxTokens != 256 || len(long.Messages) != 2 {
		t.Errorf("long: %+v %v", long, err)
	}
	_, err = s.Get("huge")
	if err == nil || !strings.Contains(err.Error(), `"huge": unknown payload (have long, short)`) {
		t.Errorf("unknown payload: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"payloads: {}", "payloads: none defined"},
		{"payloads:\n  a:\n    max_tokens: 0\n    messages: [{role: user, content: x}]", "payloads.a.max_tokens: 0"},
		{"payloads:\n  a:\n    max_tokens: 1", "payloads.a.messages"},
		{"payloads:\n  a:\n    max_tokens: 1\n    messages: [{role: robot, content: x}]", "messages[0].role"},
		{"payloads:\n  a:\n    max_tokens: 1\n    messages: [{role: user, content: ''}]", "messages[0].content"},
		{"payloads:\n  a:\n    max_token: 1", "field max_token not found"},
		{"payloads: [", "yaml"},
	} {
		if _, err := Parse("x.yaml", []byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	doc := "payloads:\n  tiny:\n    max_tokens: 4\n    messages:\n      - role: user\n        content: hi\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(p)
	if err != nil || len(s.Names()) != 1 || s["tiny"].MaxTokens != 4 {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: want an error")
	}
}

// FuzzParse: any payloads document parses or fails with an error; what
// parses is valid.
func FuzzParse(f *testing.F) {
	def, _ := os.ReadFile(filepath.Join("..", "..", "fixtures", "payloads.yaml"))
	f.Add(def)
	f.Add([]byte("payloads:\n  a:\n    max_tokens: 1\n    messages: [{role: user, content: x}]\n"))
	f.Add([]byte("payloads: ["))
	f.Add([]byte("payloads:\n  a:\n    max_tokens: -1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse("fuzz.yaml", in)
		if err != nil {
			return
		}
		for name, p := range s {
			if p.MaxTokens <= 0 || len(p.Messages) == 0 || p.Name != name {
				t.Fatalf("invalid payload accepted: %+v", p)
			}
		}
	})
}

func TestInputTokensForms(t *testing.T) {
	set, err := Parse("t", []byte(`payloads:
  fixed: {max_tokens: 4, input_tokens: 512, messages: [{role: user, content: hi}]}
  flat: {max_tokens: 4, input_tokens: {distribution: uniform, min: 100, max: 200, seed: 3}, messages: [{role: user, content: hi}]}
  bell: {max_tokens: 4, input_tokens: {distribution: normal, mean: 300, stddev: 50, seed: 3}, messages: [{role: user, content: hi}]}
  plain: {max_tokens: 4, messages: [{role: user, content: hi}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c := set["fixed"].InputTokens.Counts(); len(c) != 1 || c[0] != 512 || set["plain"].InputTokens.IsSet() {
		t.Errorf("fixed %v, plain set %v", c, set["plain"].InputTokens.IsSet())
	}
	flat := set["flat"].InputTokens.Counts()
	if len(flat) != Prompts || !slices.Equal(flat, set["flat"].InputTokens.Counts()) {
		t.Fatalf("uniform: %v (a seed must give the same draws)", flat)
	}
	for _, n := range flat {
		if n < 100 || n > 200 {
			t.Errorf("uniform 100–200 drew %d", n)
		}
	}
	if slices.Min(flat) == slices.Max(flat) {
		t.Error("uniform drew one value only")
	}
	bell := set["bell"].InputTokens.Counts()
	var sum float64
	for _, n := range bell {
		sum += float64(n)
	}
	if mean := sum / float64(len(bell)); mean < 270 || mean > 330 {
		t.Errorf("normal, mean 300, sd 50: drew mean %v", mean)
	}
	for _, bad := range []string{
		`{distribution: uniform, min: 9, max: 3}`, `{distribution: poisson, mean: 3}`, `{min: 3, max: 9}`, `{distribution: normal, mean: 300, sd: 5}`, `-4`,
	} {
		_, err := Parse("t", []byte("payloads:\n  p: {max_tokens: 4, input_tokens: "+bad+", messages: [{role: user, content: hi}]}\n"))
		if err == nil || !strings.Contains(err.Error(), "input_tokens") && !strings.Contains(err.Error(), "line") {
			t.Errorf("input_tokens %s: %v", bad, err)
		}
	}
}
