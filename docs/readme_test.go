// Package docs_test checks that the README and the code agree on the
// environment variables a user can set: every one the user's documents
// (the README and the pages it sends them to: userDocs) name is
// read somewhere (Go code, the Makefile, a script), and every one the Go
// code reads is in one of them.
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

// userDocs are the pages a user reads to run the harness: the README and
// the pages it sends them to for the details.
var userDocs = []string{"../README.md", "configuration.md", "e2e.md", "ci.md", "perf-sweep.md", "testing.md", "workloads.md"}

// readUserDocs is the text of userDocs, one after another.
func readUserDocs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range userDocs {
		b.WriteString(read(t, p) + "\n")
	}
	return b.String()
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
	readme := readUserDocs(t)
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
	for _, re := range []string{`os\.Getenv\("([A-Z0-9_]+)"\)`, `os\.LookupEnv\("([A-Z0-9_]+)"\)`, `\benv\("([A-Z0-9_]+)"`, `\bduration\("([A-Z0-9_]+)"`, `\.(?:str|integer|flag)\("([A-Z0-9_]+)"`, `\{Env: "(PERF_[A-Z0-9_]+)", Flag: "perf\.`} {
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

// TestLayoutNamesEveryPackage: the README's layout and docs/architecture.md
// name every Go package and command, so neither goes stale when one is
// added or renamed.
func TestLayoutNamesEveryPackage(t *testing.T) {
	readme := read(t, filepath.Join("..", "README.md"))
	layout := readme[strings.Index(readme, "## Layout"):]
	arch := read(t, "architecture.md")
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join("..", root), func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if files, _ := filepath.Glob(filepath.Join(p, "*.go")); len(files) == 0 {
				return nil
			}
			rel, _ := filepath.Rel("..", p)
			name := strings.TrimPrefix(strings.TrimPrefix(filepath.ToSlash(rel), "internal/"), "cmd/")
			if !strings.Contains(layout, "`"+name+"`") {
				t.Errorf("README's layout does not name %s", rel)
			}
			if !strings.Contains(arch, "`"+filepath.ToSlash(rel)+"`") {
				t.Errorf("docs/architecture.md does not name %s", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLinksResolve: every relative link in the README and docs/ points at
// a file of this repository, and the team's overview's documents keep their
// names (it links them) and are linked from the README.
func TestLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	pages, _ := filepath.Glob("*.md")
	pages = append(pages, filepath.Join("..", "README.md"))
	for _, page := range pages {
		for _, m := range link.FindAllStringSubmatch(read(t, page), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), target)); err != nil {
				t.Errorf("%s links %s, which does not exist", page, target)
			}
		}
	}
	readme := read(t, filepath.Join("..", "README.md"))
	for _, doc := range []string{"phase-1-infrastructure-setup.md", "phase-2-initial-load-testing-hey.md", "phase-3-investigation-stall.md",
		"phase-4-stabilization-k6-ingress.md", "phase-5-verification-results.md", "load_test_report.md", "production_readiness.md"} {
		if !strings.Contains(readme, "(docs/"+doc+")") {
			t.Errorf("the README does not link docs/%s", doc)
		}
	}
}
