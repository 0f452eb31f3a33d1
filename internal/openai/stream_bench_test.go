package openai

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/record"
)

// BenchmarkReadStream decodes one streamed response of 256 token events,
// the role and finish chunks, the usage chunk and [DONE], as vLLM sends
// them: the client's per-event path (allocations per response are
// reported).
func BenchmarkReadStream(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n")
	for i := range 256 {
		fmt.Fprintf(&body, `data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"w%d "},"finish_reason":null}]}`+"\n\n", i)
	}
	body.WriteString(`data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n")
	body.WriteString(`data: {"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":256,"total_tokens":264}}` + "\n\n")
	body.WriteString("data: [DONE]\n\n")
	c, err := New(Config{Endpoint: Endpoint{BaseURL: "http://127.0.0.1:1"}, Model: "m", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 256})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	wd := startWatchdog(cancel, time.Hour, time.Hour)
	defer wd.stop()
	data := body.Bytes()
	rec := record.Record{ChunkGaps: make([]time.Duration, 0, 512)}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rec = record.Record{ChunkGaps: rec.ChunkGaps[:0]}
		c.readStream(ctx, bytes.NewReader(data), &rec, wd)
		if rec.Class != record.OK || rec.OutputTokens != 256 {
			b.Fatalf("class %q, %d tokens", rec.Class, rec.OutputTokens)
		}
	}
}
