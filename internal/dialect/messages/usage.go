package messages

import (
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// anthropicUsage is the counts of Anthropic's usage object. input_tokens excludes the
// prompt tokens read from the cache (cache_read_input_tokens) and written to it
// (cache_creation_input_tokens); the gateway's provider.Usage counts them all as input.
type anthropicUsage struct {
	input, output, cacheRead, cacheCreation int64
}

// merge takes the counts present in usage object v: a count that is absent or null
// leaves the earlier one alone, as Anthropic's stream repeats only some of them.
func (u *anthropicUsage) merge(v jsonx.Result) bool {
	if !v.IsObject() {
		return false
	}
	v.ForEach(func(k, n jsonx.Result) bool {
		if n.Type != jsonx.Number {
			return true
		}
		switch k.Str {
		case "input_tokens":
			u.input = n.Int()
		case "output_tokens":
			u.output = n.Int()
		case "cache_read_input_tokens":
			u.cacheRead = n.Int()
		case "cache_creation_input_tokens":
			u.cacheCreation = n.Int()
		}
		return true
	})
	return true
}

func (u *anthropicUsage) provider() provider.Usage {
	return provider.Usage{
		Reported:          true,
		InputTokens:       u.input + u.cacheRead + u.cacheCreation,
		OutputTokens:      u.output,
		CachedInputTokens: u.cacheRead,
		CacheWriteTokens:  u.cacheCreation,
	}
}

// UsageOf reads the usage of a message object that a native Anthropic provider
// answered, in the gateway's terms: InputTokens counts every prompt token, cached ones
// included (input_tokens + cache_read_input_tokens + cache_creation_input_tokens),
// CachedInputTokens the cache reads, CacheWriteTokens the cache writes. A body without
// a usage object reads as unreported. It does not retain body.
func UsageOf(body []byte) provider.Usage {
	var u anthropicUsage
	if !u.merge(jsonx.Get(body, "usage")) {
		return provider.Usage{}
	}
	return u.provider()
}

// StreamUsage reads the usage off a native Anthropic stream, event by event:
// message_start's message.usage, then each message_delta's usage, whose counts are
// cumulative and replace the earlier ones (Anthropic repeats there the input counts
// too, or only output_tokens). Other events are ignored. The zero value is ready; it is
// used by one goroutine.
type StreamUsage struct {
	u        anthropicUsage
	reported bool
}

// Observe takes the data of one event of the stream (the JSON after "data: "); it
// does not retain it.
func (s *StreamUsage) Observe(data []byte) {
	doc := jsonx.View(data)
	switch doc.Get("type").Str {
	case "message_start":
		s.reported = s.u.merge(doc.Get("message.usage")) || s.reported
	case "message_delta":
		s.reported = s.u.merge(doc.Get("usage")) || s.reported
	}
}

// Usage is the usage seen so far, as UsageOf counts it; unreported before any.
func (s *StreamUsage) Usage() provider.Usage {
	if !s.reported {
		return provider.Usage{}
	}
	return s.u.provider()
}

// CountTokensAnswer is the body of a count_tokens answer: {"input_tokens":n}.
func CountTokensAnswer(n int64) []byte {
	b := append(make([]byte, 0, 40), `{"input_tokens":`...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '}')
}
