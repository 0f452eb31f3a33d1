package report

import (
	"os"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b, "lr", "cell", "RPS")
	tb.row("short, 4 VUs", "12.50")
	tb.row("—", "")
	if want := "| cell | RPS |\n|---|--:|\n| short, 4 VUs | 12.50 |\n| — | |\n"; b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	for name, f := range map[string]func(){
		"a row too short":            func() { tb.row("only one") },
		"a row too long":             func() { tb.row("a", "b", "c") },
		"alignments for other width": func() { newTable(&b, "l", "a", "b") },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "report: table") {
					t.Errorf("%s: recovered %v, want a panic naming the table", name, r)
				}
			}()
			f()
		}()
	}
}

// TestGoldenTablesAreRectangular: every table of the golden report has as
// many cells in each row as in its header.
func TestGoldenTablesAreRectangular(t *testing.T) {
	md, err := os.ReadFile("testdata/report.golden.md")
	if err != nil {
		t.Fatal(err)
	}
	tables, width := 0, 0
	for i, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "|") {
			width = 0
			continue
		}
		n := strings.Count(line, "|")
		if width == 0 {
			width, tables = n, tables+1
			continue
		}
		if n != width {
			t.Errorf("report.golden.md:%d: %d bars in a table of %d: %s", i+1, n, width, line)
		}
	}
	if tables < 5 {
		t.Errorf("%d tables in the golden report: not the report", tables)
	}
}
