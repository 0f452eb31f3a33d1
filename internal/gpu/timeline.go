package gpu

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TimelineHeader is gpu.csv's header: the columns of the team's
// `nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,
// memory.used,memory.total,temperature.gpu,power.draw --format=csv` first,
// in that order and with those names, then the extra columns.
var TimelineHeader = []string{
	"timestamp", "utilization.gpu [%]", "utilization.memory [%]", "memory.used [MiB]", "memory.total [MiB]",
	"temperature.gpu", "power.draw [W]",
	"index", "uuid", "energy [J]", "clocks.sm [MHz]", "clocks_event_reasons", "sm_activity [%]", "tensor_activity [%]", "cell",
}

// TimeFormat is nvidia-smi's timestamp format.
const TimeFormat = "2006/01/02 15:04:05.000"

// Timeline writes gpu.csv: a row per device per sample, the cell it fell
// in (empty between cells) in the last column, so cell boundaries can be
// read off it. A missing field is an empty cell, as a spreadsheet expects.
type Timeline struct {
	w   *bufio.Writer
	err error
	buf []byte
}

// NewTimeline writes the header to w and returns the Timeline.
func NewTimeline(w io.Writer) *Timeline {
	t := &Timeline{w: bufio.NewWriter(w)}
	_, t.err = t.w.WriteString(strings.Join(TimelineHeader, ", ") + "\n")
	return t
}

func (t *Timeline) write(s *Sample, d Device, cell string) {
	if t.err != nil {
		return
	}
	b := t.buf[:0]
	b = s.Time.AppendFormat(b, TimeFormat)
	num := func(f Field, v float64, prec int) {
		b = append(b, ", "...)
		if s.Has(f) && !s.Lost {
			b = strconv.AppendFloat(b, v, 'f', prec, 64)
		}
	}
	num(UtilGPU, s.UtilGPU, 0)
	num(UtilMem, s.UtilMem, 0)
	num(MemUsed, s.MemUsedMiB, 0)
	num(MemUsed, s.MemTotalMiB, 0)
	num(Temp, s.TempC, 0)
	num(Power, s.PowerW, 2)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(d.Index), 10)
	b = append(b, ", "...)
	b = append(b, d.UUID...)
	num(Energy, s.EnergyJ, 3)
	num(SMClock, s.SMClockMHz, 0)
	b = append(b, ", "...)
	if s.Has(Throttle) && !s.Lost {
		b = fmt.Appendf(b, "0x%x", s.Throttle)
	}
	num(SMActivity, s.SMActivity, 1)
	num(TensorActivity, s.TensorActivity, 1)
	b = append(b, ", "...)
	b = append(b, strings.ReplaceAll(cell, ",", ";")...)
	b = append(b, '\n')
	t.buf = b
	_, t.err = t.w.Write(b)
}

// Flush writes what is buffered and reports the first write error.
func (t *Timeline) Flush() error {
	if t.err == nil {
		t.err = t.w.Flush()
	}
	if t.err != nil {
		return fmt.Errorf("gpu: timeline: %w", t.err)
	}
	return nil
}
