package settings

import (
	"flag"
	"fmt"
	"path/filepath"
)

// Flags holds the flag values registered on a FlagSet.
type Flags struct {
	fs     *flag.FlagSet
	values map[string]*string
}

// Register defines every setting's flag on fs (for the Ginkgo suite,
// flag.CommandLine: `ginkgo ./perf -- -perf.concurrency=1,4`).
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: map[string]*string{}}
	for _, s := range Settings {
		f.values[s.Flag] = fs.String(s.Flag, "", s.Help+" (env "+s.Env+")")
	}
	return f
}

// Config resolves the settings: a flag that was set wins over the
// environment variable, which wins over the default. env is os.Getenv.
// Relative paths (report folder, baseline, payloads file, history) are taken from
// base, the folder the user ran from (the repository root for make perf);
// an empty base leaves them relative to the working directory. It reads
// no file: Load does, once.
func (f *Flags) Config(env func(string) string, base string) (Config, error) {
	set := map[string]bool{}
	if f.fs.Parsed() {
		f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	}
	// given is each setting's value from a flag or the environment, when
	// one was given (a flag given as empty counts: it clears the default).
	given := map[string]string{}
	for _, s := range Settings {
		if set[s.Flag] {
			given[s.Env] = *f.values[s.Flag]
		} else if v := env(s.Env); v != "" {
			given[s.Env] = v
		}
	}
	// The target decides which defaults apply; BASE_URL may name it.
	simulator := given["PERF_TARGET"] == "" && env("BASE_URL") == ""
	c := Defaults(simulator)
	for _, s := range Settings {
		v, ok := given[s.Env]
		if !ok {
			continue
		}
		from := s.Env
		if set[s.Flag] {
			from = "-" + s.Flag
		}
		if err := s.set(&c, v); err != nil {
			return Config{}, fmt.Errorf("settings: %s: %w", from, err)
		}
	}
	if err := c.takeK6(env, set); err != nil {
		return Config{}, err
	}
	for _, p := range []*string{&c.ReportDir, &c.Baseline, &c.Compare, &c.PayloadsFile, &c.CAFile, &c.Trace, &c.History} {
		if *p != "" && base != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	return c, c.Validate()
}
