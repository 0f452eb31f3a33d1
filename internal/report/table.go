package report

import (
	"fmt"
	"io"
	"strings"
)

// table writes a Markdown table whose rows all have the header's width. A
// row of another width is a programming error that would shift every
// column after it; it panics at once, naming the table and both widths (the
// golden-file tests render every table).
type table struct {
	w     io.StringWriter
	name  string
	width int
}

// newTable writes the header and the alignment row. align holds one letter
// per column: 'l' (left, "---") or 'r' (right, "--:", for figures).
func newTable(w io.StringWriter, align string, header ...string) table {
	if len(align) != len(header) {
		panic(fmt.Sprintf("report: table %q: %d alignments for %d columns", strings.Join(header, "|"), len(align), len(header)))
	}
	t := table{w: w, name: strings.Join(header, "|"), width: len(header)}
	t.line(header)
	sep := "|"
	for _, a := range align {
		if a == 'r' {
			sep += "--:|"
		} else {
			sep += "---|"
		}
	}
	_, _ = w.WriteString(sep + "\n")
	return t
}

// row writes one row of exactly the header's width.
func (t table) row(cells ...string) {
	if len(cells) != t.width {
		panic(fmt.Sprintf("report: table %q: a row of %d cells under a header of %d", t.name, len(cells), t.width))
	}
	t.line(cells)
}

// line writes "| a | b |"; an empty cell is "| |".
func (t table) line(cells []string) {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		if c != "" {
			b.WriteString(" " + c)
		}
		b.WriteString(" |")
	}
	b.WriteString("\n")
	_, _ = t.w.WriteString(b.String())
}
