package cache

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Entry is one stored answer. Body is always the non-stream form (a chat.completion,
// text_completion or embeddings list JSON, usage included when the provider reported it)
// whichever way the answer was produced; Replay turns it back into SSE when needed.
// An Entry is immutable once stored: readers share it and must not modify it.
type Entry struct {
	// Key is the entry's store name (scope tags and request hash).
	Key string `json:"key"`
	// Op is the operation that produced it (chat, completion or embedding).
	Op provider.Op `json:"op"`
	// Model is the model named in the stored response.
	Model string `json:"model"`
	// Scope is the scope the entry was stored under.
	Scope Scope `json:"scope"`
	// Created is when the answer was stored.
	Created time.Time `json:"created"`
	// Expires is when the entry stops being served.
	Expires time.Time `json:"expires"`
	// Usage is the provider's usage for the original call: what a hit saves.
	Usage provider.Usage `json:"usage"`
	// Semantic says what the entry is compared on, nil when it is exact-only.
	Semantic *SemanticSource `json:"semantic,omitempty"`
	// Body is the canonical response JSON.
	Body []byte `json:"-"`
}

// SemanticSource is the similarity source of an entry: the text that was embedded and
// the partition (scope plus a hash of everything else in the request) it is indexed in.
type SemanticSource struct {
	// Partition identifies the index partition (hex).
	Partition string `json:"partition"`
	// Text is the final user turn the entry answers.
	Text string `json:"text"`
	// Embedder names the embedder that produced the vector.
	Embedder string `json:"embedder"`
}

// size estimates the bytes the entry holds in memory, for the memory store's bound.
func (e *Entry) size() int64 {
	n := 256 + len(e.Key) + len(e.Model) + len(e.Body) +
		len(e.Scope.Tenant) + len(e.Scope.Feature) + len(e.Scope.Model) + len(e.Scope.PromptVersion)
	if e.Semantic != nil {
		n += 64 + len(e.Semantic.Partition) + len(e.Semantic.Text) + len(e.Semantic.Embedder)
	}
	return int64(n)
}

// entryMagic starts every encoded entry; the digit is the format version.
const entryMagic = "SYC1"

var errBadEntry = errors.New("cache: malformed stored entry")

// encodeEntry serialises e for a shared store: magic, uvarint length of the metadata
// JSON, the metadata, then the body bytes as they are.
func encodeEntry(e *Entry) ([]byte, error) {
	meta, err := jsonx.Marshal(e)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(entryMagic)+binary.MaxVarintLen64+len(meta)+len(e.Body))
	out = append(out, entryMagic...)
	out = binary.AppendUvarint(out, uint64(len(meta)))
	out = append(out, meta...)
	return append(out, e.Body...), nil
}

// decodeEntry is the inverse of encodeEntry. The entry's Body aliases b.
func decodeEntry(b []byte) (*Entry, error) {
	if len(b) < len(entryMagic) || string(b[:len(entryMagic)]) != entryMagic {
		return nil, errBadEntry
	}
	b = b[len(entryMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errBadEntry
	}
	e := new(Entry)
	if err := jsonx.Unmarshal(b[k:k+int(n)], e); err != nil {
		return nil, errors.Join(errBadEntry, err)
	}
	e.Body = b[k+int(n):]
	return e, nil
}
