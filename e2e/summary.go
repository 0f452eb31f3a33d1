package e2e

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Summary is the suite's short Markdown for a CI job's page: the counts,
// each failed spec with the first line of its failure, and each lesson
// that skipped itself, with why.
func Summary(r types.Report, route string) string {
	var passed, failed, skipped int
	var lines []string
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			if s.State.Is(types.SpecStateFailureStates) {
				failed++
				lines = append(lines, fmt.Sprintf("- **%s failed**: %s", s.LeafNodeType, firstLine(s.Failure.Message)))
			}
			continue
		}
		switch {
		case s.State == types.SpecStatePassed:
			passed++
		case s.State.Is(types.SpecStateFailureStates):
			failed++
			lines = append(lines, fmt.Sprintf("- **%s**: failed: %s", s.LeafNodeText, firstLine(s.Failure.Message)))
		case s.State == types.SpecStateSkipped && s.Failure.Message != "":
			skipped++
			if SkippedItself(s) && slices.Contains(s.Labels(), "lesson") {
				lines = append(lines, fmt.Sprintf("- **%s**: a lesson, skipped: %s", s.LeafNodeText, firstLine(s.Failure.Message)))
			}
		}
	}
	verdict := "passed"
	if !r.SuiteSucceeded {
		verdict = "failed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### e2e through the %s: %s (%d passed, %d failed, %d skipped)\n\n", route, verdict, passed, failed, skipped)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	if len(lines) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// firstLine is a failure's first line; for Gomega's "Unexpected error:",
// the error's own text, two lines below.
func firstLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(lines[0])
	if strings.HasSuffix(s, "Unexpected error:") && len(lines) > 2 {
		s = strings.TrimSpace(lines[2])
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// orderedSkip is Ginkgo's message for a spec of an Ordered container
// skipped because an earlier one failed.
const orderedSkip = "Spec skipped because an earlier spec in an ordered container failed"

// SkippedItself reports whether the spec called Skip (a missing tool, an
// unreadable log): not left out by a label filter, which leaves no
// message, nor skipped after an earlier spec of its Ordered container
// failed, which the failure already reports.
func SkippedItself(s types.SpecReport) bool {
	return s.State == types.SpecStateSkipped && s.Failure.Message != "" && !strings.HasPrefix(s.Failure.Message, orderedSkip)
}
