package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// decodeAll returns every event's data from r.
func decodeAll(t *testing.T, r io.Reader, opts ...Option) ([]string, error) {
	t.Helper()
	d := NewDecoder(r, opts...)
	var out []string
	for {
		ev, err := d.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, string(ev.Data))
	}
}

func TestDecoder(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"lf", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"lone cr", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"mixed line ends", "data: a\r\n\ndata: b\r\r\n", []string{"a", "b"}},
		{"multi-line data", "data: a\ndata: b\ndata:c\n\n", []string{"a\nb\nc"}},
		{"no space after colon", "data:x\n\n", []string{"x"}},
		{"only first space stripped", "data:  x\n\n", []string{" x"}},
		{"comments and pings", ": ping\n\n:keep-alive\ndata: a\n: mid\n\n", []string{"a"}},
		{"other fields ignored", "event: message\nid: 7\nretry: 10\ndata: a\n\n", []string{"a"}},
		{"field without colon", "data\n\n", []string{""}},
		{"blank lines between", "\n\n\ndata: a\n\n\n\n", []string{"a"}},
		{"done marker", "data: {\"x\":1}\n\ndata: [DONE]\n\n", []string{`{"x":1}`, "[DONE]"}},
		{"incomplete event at eof discarded", "data: a\n\ndata: b\n", []string{"a"}},
		{"incomplete line at eof discarded", "data: a\n\ndata: b", []string{"a"}},
		{"empty stream", "", nil},
		{"bom-free utf8 kept", "data: héllo ✓\n\n", []string{"héllo ✓"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every read size, down to one byte, must give the same events:
			// a proxy may split a stream at any byte.
			for _, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tc.in),
				"one byte": iotest.OneByteReader(strings.NewReader(tc.in)),
				"half":     iotest.HalfReader(strings.NewReader(tc.in)),
			} {
				got, err := decodeAll(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestDecoderSplitEverywhere feeds a realistic vLLM stream split at every
// byte offset into two reads.
func TestDecoderSplitEverywhere(t *testing.T) {
	in := "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n"
	for i := range len(in) {
		r := io.MultiReader(strings.NewReader(in[:i]), strings.NewReader(in[i:]))
		got, err := decodeAll(t, r)
		if err != nil || len(got) != 2 || got[1] != "[DONE]" {
			t.Fatalf("split at %d: got %q, %v", i, got, err)
		}
	}
}

func TestDecoderLineTooLong(t *testing.T) {
	in := "data: " + strings.Repeat("x", 100) + "\n\n"
	_, err := decodeAll(t, strings.NewReader(in), WithMaxLine(64))
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
	// A line just under the limit grows the buffer and passes.
	got, err := decodeAll(t, strings.NewReader(in), WithMaxLine(1<<10))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d events, %v", len(got), err)
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := decodeAll(t, r)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %q, %v; want [a] and boom", got, err)
	}
}

// stampedReader returns one chunk per Read and advances a fake clock, so
// each event's time shows which read completed it.
type stampedReader struct {
	chunks []string
	now    *time.Time
}

func (s *stampedReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	*s.now = s.now.Add(time.Second)
	n := copy(p, s.chunks[0])
	s.chunks = s.chunks[1:]
	return n, nil
}

func TestDecoderStampsArrival(t *testing.T) {
	now := time.Unix(0, 0)
	r := &stampedReader{now: &now, chunks: []string{"data: a\n", "\ndata: b\n\ndata: c\n\n", ": ping\n\n", "data: d\n\n"}}
	d := NewDecoder(r, WithClock(func() time.Time { return now }))
	want := map[string]int64{"a": 2, "b": 2, "c": 2, "d": 4}
	for range 4 {
		ev, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Time.Unix(); got != want[string(ev.Data)] {
			t.Errorf("event %q stamped at read %d, want %d", ev.Data, got, want[string(ev.Data)])
		}
	}
}

func TestDecoderReset(t *testing.T) {
	d := NewDecoder(strings.NewReader("data: a\n\n"))
	if ev, err := d.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatal(ev, err)
	}
	d.Reset(strings.NewReader("data: b\n\n"))
	if ev, err := d.Next(); err != nil || string(ev.Data) != "b" {
		t.Fatal(ev, err)
	}
}

// FuzzDecoder: any input decodes without panic, and the events are the same
// whether the stream arrives whole or a byte at a time.
func FuzzDecoder(f *testing.F) {
	for _, seed := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data: a\r\rdata: b\r\r", "data: a\ndata: b\n\n", ": ping\n\ndata: x\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n", "event: e\nid: 1\nretry: 3\n\n", "data", "\r", "\n\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, errW := decodeAll(t, strings.NewReader(string(in)), WithMaxLine(1<<12))
		bytewise, errB := decodeAll(t, iotest.OneByteReader(strings.NewReader(string(in))), WithMaxLine(1<<12))
		if (errW == nil) != (errB == nil) || strings.Join(whole, "\x00") != strings.Join(bytewise, "\x00") || len(whole) != len(bytewise) {
			t.Fatalf("whole %q (%v) vs byte-wise %q (%v)", whole, errW, bytewise, errB)
		}
	})
}
