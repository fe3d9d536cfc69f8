package messages

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// UsageOf reads the usage of a message object that a native Anthropic provider
// answered, in the gateway's terms: InputTokens counts every prompt token, cached ones
// included (input_tokens + cache_read_input_tokens + cache_creation_input_tokens),
// CachedInputTokens the cache reads, CacheWriteTokens the cache writes. A body without
// a usage object reads as unreported. It does not retain body.
func UsageOf(body []byte) provider.Usage {
	var u provider.AnthropicUsage
	u.Merge(jsonx.Get(body, "usage"))
	return u.Usage()
}

// StreamUsage reads the usage off a native Anthropic stream, event by event:
// message_start's message.usage, then each message_delta's usage, whose counts are
// cumulative and replace the earlier ones (Anthropic repeats there the input counts
// too, or only output_tokens). Other events are ignored. The zero value is ready; it is
// used by one goroutine.
type StreamUsage struct {
	u provider.AnthropicUsage
}

// Observe takes the data of one event of the stream (the JSON after "data: "); it
// does not retain it.
func (s *StreamUsage) Observe(data []byte) {
	doc := jsonx.View(data)
	switch doc.Get("type").Str {
	case "message_start":
		s.u.Merge(doc.Get("message.usage"))
	case "message_delta":
		s.u.Merge(doc.Get("usage"))
	}
}

// Usage is the usage seen so far, as UsageOf counts it; unreported before any.
func (s *StreamUsage) Usage() provider.Usage { return s.u.Usage() }

// CountTokensAnswer is the body of a count_tokens answer: {"input_tokens":n}.
func CountTokensAnswer(n int64) []byte {
	b := append(make([]byte, 0, 40), `{"input_tokens":`...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '}')
}
