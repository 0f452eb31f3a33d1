package payload

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"go.yaml.in/yaml/v3"
)

// Length is a payload's input_tokens: a fixed count, or a seeded
// distribution of counts, one per prompt (uniform between min and max, or
// normal with a mean and standard deviation):
//
//	input_tokens: 512
//	input_tokens: {distribution: uniform, min: 256, max: 1024, seed: 1}
//	input_tokens: {distribution: normal, mean: 512, stddev: 128, seed: 1}
type Length struct {
	Fixed        int
	Distribution string // "uniform" or "normal"; "" for Fixed
	Min, Max     int
	Mean, StdDev float64
	Seed         uint64
}

// Prompts is how many distinct prompts a distribution is drawn into; the
// requests of a cell take them in turn.
const Prompts = 32

// IsSet reports whether the payload asks for an input length.
func (l Length) IsSet() bool { return l.Fixed > 0 || l.Distribution != "" }

// Counts are the token counts of the payload's prompts: the fixed count
// once, or Prompts seeded draws, each at least 1.
func (l Length) Counts() []int {
	if l.Distribution == "" {
		return []int{l.Fixed}
	}
	rng := rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15))
	out := make([]int, Prompts)
	for i := range out {
		switch l.Distribution {
		case "uniform":
			out[i] = l.Min + rng.IntN(l.Max-l.Min+1)
		default:
			out[i] = max(1, int(math.Round(l.Mean+l.StdDev*rng.NormFloat64())))
		}
	}
	return out
}

// String is the length as the report shows it.
func (l Length) String() string {
	switch l.Distribution {
	case "uniform":
		return fmt.Sprintf("uniform %d–%d (%d prompts, seed %d)", l.Min, l.Max, Prompts, l.Seed)
	case "normal":
		return fmt.Sprintf("normal, mean %g, sd %g (%d prompts, seed %d)", l.Mean, l.StdDev, Prompts, l.Seed)
	}
	return fmt.Sprint(l.Fixed)
}

func (l Length) validate() error {
	switch l.Distribution {
	case "":
		if l.Fixed < 0 {
			return fmt.Errorf("%d: must be > 0 (or left out)", l.Fixed)
		}
	case "uniform":
		if l.Min < 1 || l.Max < l.Min {
			return fmt.Errorf("uniform: min %d, max %d: want 1 <= min <= max", l.Min, l.Max)
		}
	case "normal":
		if l.Mean < 1 || l.StdDev < 0 {
			return fmt.Errorf("normal: mean %g, stddev %g: want mean >= 1, stddev >= 0", l.Mean, l.StdDev)
		}
	default:
		return fmt.Errorf("distribution %q: want uniform or normal", l.Distribution)
	}
	return nil
}

// UnmarshalYAML reads a count or a distribution, strictly.
func (l *Length) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		return node.Decode(&l.Fixed)
	}
	var d struct {
		Distribution string  `yaml:"distribution"`
		Min          int     `yaml:"min"`
		Max          int     `yaml:"max"`
		Mean         float64 `yaml:"mean"`
		StdDev       float64 `yaml:"stddev"`
		Seed         uint64  `yaml:"seed"`
	}
	// node.Decode does not inherit the decoder's KnownFields: check keys.
	known := map[string]bool{"distribution": true, "min": true, "max": true, "mean": true, "stddev": true, "seed": true}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if k := node.Content[i].Value; !known[k] {
			return fmt.Errorf("line %d: field %s not found in input_tokens (want distribution, min, max, mean, stddev, seed)", node.Content[i].Line, k)
		}
	}
	if err := node.Decode(&d); err != nil {
		return err
	}
	if d.Distribution == "" {
		return fmt.Errorf("line %d: input_tokens: a mapping needs distribution (uniform or normal)", node.Line)
	}
	*l = Length{Distribution: d.Distribution, Min: d.Min, Max: d.Max, Mean: d.Mean, StdDev: d.StdDev, Seed: d.Seed}
	return nil
}

// MarshalJSON writes a fixed count as a number, a distribution as an object.
func (l Length) MarshalJSON() ([]byte, error) {
	if l.Distribution == "" {
		return json.Marshal(l.Fixed)
	}
	return json.Marshal(map[string]any{"distribution": l.Distribution, "min": l.Min, "max": l.Max, "mean": l.Mean, "stddev": l.StdDev, "seed": l.Seed})
}
