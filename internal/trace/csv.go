package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// columns are each CSV format's columns: timestamp, input and output.
var columns = map[string][3]string{
	Azure:    {"TIMESTAMP", "ContextTokens", "GeneratedTokens"},
	BurstGPT: {"Timestamp", "Request tokens", "Response tokens"},
}

// azureTimes are the Azure traces' timestamp layouts: 2023's
// "2023-11-16 18:15:46.6805900" and 2024's "2024-05-10
// 00:00:00.009930+00:00".
var azureTimes = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00"}

// readCSV reads an Azure or BurstGPT trace: columns by their header's
// names, so column order and extra columns do not matter. BurstGPT's
// failed requests (0 response tokens) are skipped and counted.
func readCSV(r io.Reader, format string) (Trace, Notes, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, Notes{}, fmt.Errorf("trace: header: %w", err)
	}
	idx := [3]int{-1, -1, -1}
	for i, h := range header {
		for j, want := range columns[format] {
			if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) == want {
				idx[j] = i
			}
		}
	}
	for j, i := range idx {
		if i < 0 {
			return nil, Notes{}, fmt.Errorf("trace: %s: the header has no column %q (has %s)", format, columns[format][j], strings.Join(header, ","))
		}
	}
	var (
		t     Trace
		notes Notes
	)
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, notes, fmt.Errorf("trace: line %d: %w", line, err)
		}
		if len(row) <= max(idx[0], idx[1], idx[2]) {
			return nil, notes, fmt.Errorf("trace: line %d: %d columns, the header has %d", line, len(row), len(header))
		}
		var q Request
		if q.Timestamp, err = timestamp(format, strings.TrimSpace(row[idx[0]])); err != nil {
			return nil, notes, fmt.Errorf("trace: line %d: %s: %w", line, columns[format][0], err)
		}
		in, err1 := strconv.Atoi(strings.TrimSpace(row[idx[1]]))
		out, err2 := strconv.Atoi(strings.TrimSpace(row[idx[2]]))
		if err := errors.Join(err1, err2); err != nil {
			return nil, notes, fmt.Errorf("trace: line %d: %w", line, err)
		}
		if format == BurstGPT && out == 0 {
			notes.Skipped++ // a failed request: BurstGPT logs them with 0 response tokens
			continue
		}
		q.InputLength, q.OutputLength = in, out
		if err := check(t, q, line); err != nil {
			return nil, notes, err
		}
		t = append(t, q)
	}
	return t, notes, nil
}

// timestamp is a row's time in milliseconds: Azure's wall-clock time (Unix
// milliseconds), BurstGPT's seconds from the trace's first day.
func timestamp(format, v string) (int64, error) {
	if format == BurstGPT {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s < 0 || math.IsInf(s, 0) {
			return 0, fmt.Errorf("%q: want seconds >= 0", v)
		}
		return int64(math.Round(s * 1000)), nil
	}
	for _, layout := range azureTimes {
		if at, err := time.Parse(layout, v); err == nil {
			return at.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q: want a time like 2023-11-16 18:15:46.6805900 or 2024-05-10 00:00:00.009930+00:00", v)
}
