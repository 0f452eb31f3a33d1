package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	gosse "github.com/tmaxmax/go-sse"
)

// vllmChunk is a chat-completion chunk as vLLM streams it.
const vllmChunk = `data: {"id":"chatcmpl-9f1c","object":"chat.completion.chunk","created":1732000000,"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}` + "\n\n"

// streamOf is n chunks back to back.
func streamOf(n int) []byte { return bytes.Repeat([]byte(vllmChunk), n) }

const eventsPerStream = 1024

// BenchmarkDecoder measures our decoder alone: events per second on one
// core and allocations per event (reported per op = per event).
func BenchmarkDecoder(b *testing.B) {
	src := streamOf(eventsPerStream)
	r := bytes.NewReader(src)
	d := NewDecoder(r)
	b.SetBytes(int64(len(vllmChunk)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for n < b.N {
		r.Reset(src)
		d.Reset(r)
		for ; n < b.N; n++ {
			if _, err := d.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkGoSSE measures github.com/tmaxmax/go-sse on the same input, the
// library we would otherwise use.
func BenchmarkGoSSE(b *testing.B) {
	src := streamOf(eventsPerStream)
	b.SetBytes(int64(len(vllmChunk)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for n < b.N {
		for ev, err := range gosse.Read(bytes.NewReader(src), nil) {
			if err != nil {
				b.Fatal(err)
			}
			_ = ev.Data
			if n++; n >= b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// TestAgreesWithGoSSE checks that our decoder and github.com/tmaxmax/go-sse
// agree on the edge cases: exactness is not what we traded for speed.
func TestAgreesWithGoSSE(t *testing.T) {
	cases := map[string]string{
		"crlf":            "data: a\r\n\r\ndata: b\r\n\r\n",
		"lone cr":         "data: a\r\rdata: b\r\r",
		"multi-line":      "data: a\ndata: b\n\n",
		"comments":        ": ping\n\ndata: a\n: mid\n\n",
		"incomplete tail": "data: a\n\ndata: b",
	}
	for name, in := range cases {
		ours, err := decodeAll(t, strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		var theirs []string
		for ev, err := range gosse.Read(strings.NewReader(in), nil) {
			if err != nil {
				break
			}
			theirs = append(theirs, ev.Data)
		}
		if strings.Join(ours, "|") != strings.Join(theirs, "|") || len(ours) != len(theirs) {
			t.Errorf("%s: ours %q, go-sse %q", name, ours, theirs)
		}
	}
}
