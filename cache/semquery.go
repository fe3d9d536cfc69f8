package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// semQuery is the semantic side of one request: the compared text and its partition.
type semQuery struct {
	text      string
	info      textInfo
	partition string
	vec       []float32
}

// extractSemantic finds what a chat request is compared on: the final user turn's text,
// with everything else (system prompt, tools, earlier turns, parameters, model, scope
// and embedder) hashed into the partition. It returns a reason instead when the request
// is exact-only: not chat, last message not from the user, non-text content, a
// conversation longer than maxTurns, or a text longer than maxText bytes.
func extractSemantic(op provider.Op, scope Scope, body []byte, embedder string, cfg SemanticConfig, lx *lexicon) (*semQuery, string) {
	if op != provider.OpChat {
		return nil, "not a chat request"
	}
	root := jsonx.Get(body, "@this")
	msgs := root.Get("messages").Array()
	if len(msgs) == 0 {
		return nil, "no messages"
	}
	turns := 0
	for _, m := range msgs {
		if r := m.Get("role").Str; r != "system" && r != "developer" {
			turns++
		}
	}
	if turns > cfg.MaxTurns {
		return nil, "conversation longer than max_turns"
	}
	last := msgs[len(msgs)-1]
	if last.Get("role").Str != "user" {
		return nil, "last message is not from the user"
	}
	text, ok := contentText(last.Get("content"))
	if !ok {
		return nil, "final message has non-text content"
	}
	if len(text) > cfg.MaxTextBytes {
		return nil, "final message longer than max_text_bytes"
	}
	if strings.TrimSpace(text) == "" {
		return nil, "final message is empty"
	}
	h := sha256.New()
	h.Write([]byte(keyVersion + "/semantic"))
	scope.writeTo(h)
	h.Write([]byte{byte(op)})
	h.Write([]byte(embedder))
	h.Write([]byte{0})
	h.Write(appendCanonicalRequest(nil, op, root, true))
	return &semQuery{text: text, info: lx.analyze(text), partition: hex.EncodeToString(h.Sum(nil))}, ""
}

// contentText returns a message content's text: the string, or the text parts joined
// by newlines; false when any part is not text.
func contentText(c jsonx.Result) (string, bool) {
	if c.Type == jsonx.String {
		return c.Str, true
	}
	if !c.IsArray() {
		return "", false
	}
	var b strings.Builder
	ok := true
	c.ForEach(func(_, p jsonx.Result) bool {
		if p.Get("type").Str != "text" {
			ok = false
			return false
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Get("text").Str)
		return true
	})
	return b.String(), ok
}
