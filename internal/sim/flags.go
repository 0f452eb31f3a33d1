package sim

import (
	"flag"
	"time"
)

// Flags registers the simulator's settings on fs (a preset, then overrides
// of its fields) and returns a function that resolves them into a Config
// after fs.Parse. llmsim and any process that serves a simulator share it, so
// a setting means the same everywhere.
func Flags(fs *flag.FlagSet) func() (Config, error) {
	var (
		preset  = fs.String("preset", "rtx3060-tinyllama", "latency preset: rtx3060-tinyllama or fast")
		model   = fs.String("model", "", "served model name (default: the preset's)")
		ttft    = fs.Duration("ttft", 0, "base time to first token (default: the preset's)")
		prefill = fs.Duration("prefill-per-token", 0, "TTFT added per prompt token (default: the preset's)")
		itl     = fs.Duration("itl", 0, "inter-token latency of a lone sequence (default: the preset's)")
		seqs    = fs.Int("max-num-seqs", 0, "sequences running at once; more wait (default: the preset's)")
		pc      = fs.Bool("prefix-caching", false, "model vLLM's automatic prefix caching (default: the preset's)")
		kv      = fs.Int("kv-cache-tokens", 0, "KV cache size in tokens; a sequence that runs out is preempted (default: the preset's; 0 unlimited)")
		slow    = fs.Float64("batch-slowdown", 0, "ITL stretch per extra running sequence (default: the preset's)")
		jitter  = fs.Float64("jitter", 0, "latency jitter fraction in [0,1) (default: the preset's)")
		seed    = fs.Uint64("seed", 0, "seed for jitter and faults (default: the preset's)")
		faults  = fs.String("faults", "", "fault rates, e.g. 429=0.01,stall=0.001; modes: "+faultNames())
	)
	return func() (Config, error) {
		cfg, err := Preset(*preset)
		if err != nil {
			return Config{}, err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["model"] {
			cfg.Model = *model
		}
		for name, d := range map[string]struct{ from, to *time.Duration }{
			"ttft": {ttft, &cfg.TTFT}, "prefill-per-token": {prefill, &cfg.PrefillPerToken}, "itl": {itl, &cfg.ITL},
		} {
			if set[name] {
				*d.to = *d.from
			}
		}
		if set["max-num-seqs"] {
			cfg.MaxNumSeqs = *seqs
		}
		if set["prefix-caching"] {
			cfg.PrefixCaching = *pc
		}
		if set["kv-cache-tokens"] {
			cfg.KVCacheTokens = *kv
		}
		if set["batch-slowdown"] {
			cfg.BatchSlowdown = *slow
		}
		if set["jitter"] {
			cfg.Jitter = *jitter
		}
		if set["seed"] {
			cfg.Seed = *seed
		}
		if cfg.Faults, err = ParseFaults(*faults); err != nil {
			return Config{}, err
		}
		return cfg, cfg.Validate()
	}
}
