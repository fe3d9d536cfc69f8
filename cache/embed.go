package cache

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// Embedder turns texts into vectors. Vectors of one Embedder must all have the same
// length; they need not be normalised (the cache normalises them). Implementations are
// safe for concurrent use and honour ctx.
//
// The gateway satisfies it for an OpenAI-compatible embeddings model by sending
// {"model": ..., "input": texts} through its own provider layer (so the call is routed
// and metered like any other) and decoding the answer with ParseEmbeddings.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// EmbedderName is implemented by embedders that can name themselves. Vectors from
// different embedders are never compared: the name is part of the semantic partition.
// Embedders without it are named by SemanticConfig.Embedder.
type EmbedderName interface {
	Name() string
}

// EmbedFunc adapts a function to the Embedder interface.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Embed calls f.
func (f EmbedFunc) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return f(ctx, texts)
}

// ParseEmbeddings decodes an OpenAI embeddings response body ({"data":[{"index",
// "embedding"}]}) into vectors ordered by index. It accepts float arrays and the base64
// form (encoding_format "base64", little-endian float32).
func ParseEmbeddings(body []byte) ([][]float32, error) {
	data := jsonx.Get(body, "data")
	if !data.IsArray() {
		return nil, errors.New("cache: embeddings response has no data array")
	}
	items := data.Array()
	out := make([][]float32, len(items))
	for i, it := range items {
		idx := i
		if x := it.Get("index"); x.Exists() {
			idx = int(x.Int())
		}
		if idx < 0 || idx >= len(out) || out[idx] != nil {
			return nil, fmt.Errorf("cache: embeddings response has a bad index %d", idx)
		}
		emb := it.Get("embedding")
		var v []float32
		switch {
		case emb.IsArray():
			v = make([]float32, 0, 1536)
			emb.ForEach(func(_, f jsonx.Result) bool {
				v = append(v, float32(f.Float()))
				return true
			})
		case emb.Type == jsonx.String:
			raw, err := base64.StdEncoding.DecodeString(emb.Str)
			if err != nil || len(raw)%4 != 0 {
				return nil, errors.New("cache: embeddings response has a bad base64 vector")
			}
			v = make([]float32, len(raw)/4)
			for j := range v {
				v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		default:
			return nil, errors.New("cache: embeddings response item has no embedding")
		}
		out[idx] = v
	}
	return out, nil
}

// normalize scales v to unit length in place; it reports false for a zero vector.
func normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return true
}
