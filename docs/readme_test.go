// Package docs_test checks that the README and the code agree on the
// environment variables a user can set: every one the README names is read
// somewhere (Go code, the Makefile, a script), and every one the Go code
// reads is in the README.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// notSettings are upper-case words in the README that are not variables.
var notSettings = map[string]bool{
	"ERROR_LIBRARY_NOT_FOUND": true, // NVML's error code, quoted
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sources returns the text of every non-test Go file, the Makefile and
// the shell scripts, by path.
func sources(t *testing.T) (goCode, other string) {
	t.Helper()
	var g, o strings.Builder
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "tools" || d.Name() == "reports") {
			return filepath.SkipDir
		}
		switch {
		case strings.HasSuffix(p, ".go"):
			g.WriteString(read(t, p))
		case strings.HasSuffix(p, ".sh"), filepath.Base(p) == "Makefile", strings.HasSuffix(p, ".yml"):
			o.WriteString(read(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.String(), o.String()
}

func TestREADMEAndCodeAgreeOnVariables(t *testing.T) {
	readme := read(t, filepath.Join("..", "README.md"))
	goCode, other := sources(t)

	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])[`=]").FindAllStringSubmatch(readme, -1) {
		if !notSettings[m[1]] {
			named[m[1]] = true
		}
	}
	for _, m := range regexp.MustCompile(`\| `+"`"+`([A-Z][A-Z0-9_]*)`+"`"+`(, `+"`"+`([A-Z][A-Z0-9_]*)`+"`"+`)*`).FindAllStringSubmatch(readme, -1) {
		named[m[1]] = true
	}
	if len(named) < 30 {
		t.Fatalf("found only %d variables in the README: the pattern is wrong", len(named))
	}
	var missing []string
	for v := range named {
		if !strings.Contains(goCode, `"`+v+`"`) && !regexp.MustCompile(`\b`+v+`\b`).MatchString(other) {
			missing = append(missing, v)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the README names variables nothing reads: %v", missing)
	}

	read := map[string]bool{}
	for _, re := range []string{`os\.Getenv\("([A-Z0-9_]+)"\)`, `os\.LookupEnv\("([A-Z0-9_]+)"\)`, `\benv\("([A-Z0-9_]+)"`, `\bduration\("([A-Z0-9_]+)"`, `\{"(PERF_[A-Z0-9_]+)", "perf\.`} {
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(goCode, -1) {
			read[m[1]] = true
		}
	}
	var undocumented []string
	for v := range read {
		if v == "PATH" || v == "HOME" { // the system's, set by tests for stand-in programs
			continue
		}
		if !strings.Contains(readme, v) {
			undocumented = append(undocumented, v)
		}
	}
	sort.Strings(undocumented)
	if len(undocumented) > 0 {
		t.Errorf("the code reads variables the README does not name: %v", undocumented)
	}
	t.Logf("%d variables named in the README, %d read by the Go code", len(named), len(read))
}
