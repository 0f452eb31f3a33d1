package report

import (
	"bytes"
	"errors"
	"path/filepath"

	"github.com/llm-platform/harness/internal/results"
)

// Report file names in the report folder.
const (
	FileResults  = "results.json"
	FileMarkdown = "report.md"
	FileJUnit    = "junit.xml"
)

// WriteAll writes results.json, report.md, its charts, junit.xml and
// summary.md into
// dir, each atomically; the GPU chart is drawn from dir's gpu.csv when the
// GPU sampler wrote one. It writes every file it can and returns the errors
// of those it could not.
func (r doc) writeAll(dir string) error {
	var errs []error
	put := func(name string, render func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			errs = append(errs, err)
			return
		}
		errs = append(errs, results.WriteFile(filepath.Join(dir, name), b.Bytes()))
	}
	put(FileResults, func(b *bytes.Buffer) error {
		j, err := r.Marshal()
		b.Write(j)
		return err
	})
	charts := r.charts()
	if g := readGPUChart(dir); g != nil {
		charts[ChartGPU] = g
	}
	put(FileMarkdown, func(b *bytes.Buffer) error { return r.writeMarkdown(b, charts) })
	for name, svg := range charts {
		put(name, func(b *bytes.Buffer) error { b.Write(svg); return nil })
	}
	put(FileJUnit, func(b *bytes.Buffer) error { return r.writeJUnit(b) })
	put(FileSummary, func(b *bytes.Buffer) error { return r.writeSummary(b) })
	return errors.Join(errs...)
}
