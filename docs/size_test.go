package docs_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The sizes a reader can hold at once: a file of more than maxFileLines
// holds more than one concept, a function of more than maxFuncLines more
// than one step. Tests and generated files are not held to them.
const (
	maxFileLines = 450
	maxFuncLines = 80
)

// TestSizes: no non-test, non-generated Go file is over maxFileLines, and
// no function in one is over maxFuncLines.
func TestSizes(t *testing.T) {
	files := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".cache", ".git", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(src, []byte("\n// Code generated ")) || bytes.HasPrefix(src, []byte("// Code generated ")) {
			return nil
		}
		files++
		if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
			t.Errorf("%s: %d lines, over %d: split it by concept", path, n, maxFileLines)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines > maxFuncLines {
				t.Errorf("%s: func %s: %d lines, over %d", fset.Position(fn.Pos()), fn.Name.Name, lines, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("%d Go files checked: not this repository", files)
	}
}

// TestOneSpecPerFile: the e2e package's specs (cluster-api's style: an
// exported XSpec(ctx, inputGetter) that the suite's It calls) each have a
// file of their own, named for the spec.
func TestOneSpecPerFile(t *testing.T) {
	files, err := filepath.Glob("../e2e/*.go")
	if err != nil {
		t.Fatal(err)
	}
	specs := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		var here []string
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasSuffix(fn.Name.Name, "Spec") && ast.IsExported(fn.Name.Name) {
				here = append(here, fn.Name.Name)
			}
		}
		specs += len(here)
		if len(here) > 1 {
			t.Errorf("%s holds %d specs (%s): one spec per file", path, len(here), strings.Join(here, ", "))
		}
	}
	if specs < 10 {
		t.Fatalf("%d specs found in e2e: not this repository", specs)
	}
}
