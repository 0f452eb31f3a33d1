// Package report renders a run (package results) as the files a team reads
// and a CI consumes: report.md with its findings and SVG charts (package
// chart), junit.xml, summary.md for a CI job's summary, and, through
// WriteAll, results.json beside them. It knows nothing of HTTP or Ginkgo,
// and its writers are deterministic for a given input, which the
// golden-file tests rely on.
package report

import (
	"io"

	"github.com/llm-platform/harness/internal/results"
)

// doc is a run being rendered: the renderers are its methods, reading the
// run's fields directly.
type doc struct{ *results.Run }

// WriteAll writes every report file of r into dir: results.json,
// report.md with its charts, junit.xml and summary.md.
func WriteAll(r *results.Run, dir string) error { return doc{r}.writeAll(dir) }

// WriteMarkdown writes report.md, linking the charts by name.
func WriteMarkdown(w io.Writer, r *results.Run, charts map[string][]byte) error {
	return doc{r}.writeMarkdown(w, charts)
}

// WriteJUnit writes junit.xml: one test case per cell.
func WriteJUnit(w io.Writer, r *results.Run) error { return doc{r}.writeJUnit(w) }

// WriteSummary writes summary.md, the short form for a CI job's summary.
func WriteSummary(w io.Writer, r *results.Run) error { return doc{r}.writeSummary(w) }

// Charts renders r's SVG charts, by file name.
func Charts(r *results.Run) map[string][]byte { return doc{r}.charts() }

// CapacitySentence says a payload's capacity in one sentence.
func CapacitySentence(r *results.Run, payload string) string { return doc{r}.capitalSentence(payload) }

// MeetsSLOs reports whether cell c of r meets r's SLOs.
func MeetsSLOs(r *results.Run, c results.Cell) bool { return doc{r}.meetsSLOs(c) }

// BestCell is payload's highest-throughput cell that meets the SLOs.
func BestCell(r *results.Run, payload string) (best results.Cell, found bool, unjudged int) {
	return doc{r}.bestCell(payload)
}
