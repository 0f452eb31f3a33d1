package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// packageLocal are the names every package may use for its own settings.
var packageLocal = []string{"Config", "Settings"}

// sameConcept are names two packages share on purpose, for one concept
// (docs/architecture.md's glossary): a cell and a repeat as the sweep
// schedules them and as results.json records them; a backend resolver for
// an Ingress and for an HTTPRoute; a sample's median, interval and spread
// as package nonparam computes it and as results.json records it.
// An alias (type A = B) declares no new type and is not counted.
var sameConcept = map[string][]string{
	"Cell":     {"internal/results", "internal/sweep"},
	"Repeat":   {"internal/results", "internal/sweep"},
	"Resolver": {"internal/gateway", "internal/nginx"},
	"Summary":  {"internal/nonparam", "internal/results"},
}

// TestNoSharedTypeNames: no two packages export a type of the same name
// with different meanings; the exceptions above are the whole list.
func TestNoSharedTypeNames(t *testing.T) {
	byName := map[string][]string{}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".cache", ".git", "tools", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				if ts.Assign.IsValid() {
					continue
				}
				if name := ts.Name.Name; ast.IsExported(name) && !slices.Contains(byName[name], pkg) {
					byName[name] = append(byName[name], pkg)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) < 50 {
		t.Fatalf("found %d exported type names: not this repository", len(byName))
	}
	for name, pkgs := range byName {
		if len(pkgs) < 2 || slices.Contains(packageLocal, name) {
			continue
		}
		slices.Sort(pkgs)
		if want, ok := sameConcept[name]; ok && slices.Equal(pkgs, want) {
			continue
		}
		t.Errorf("type %s is exported by %s: one word, one concept (docs/architecture.md, Glossary); rename one, or list it in sameConcept if it is the same concept", name, strings.Join(pkgs, ", "))
	}
}
