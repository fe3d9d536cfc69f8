package cache

import (
	"context"
	"math"
	"strconv"
)

// LocalEmbedder is the built-in embedder: no network, no model. It analyses a text the
// way verification does (case folded, punctuation and filler words dropped, contractions
// expanded, plurals reduced, spelled numbers as digits, synonyms and -ing forms replaced
// by their lexicon entry: "purchase" is "buy") and hashes its features into a
// fixed number of dimensions with random signs: each content word, and the character
// trigrams of each word (so one typo keeps most of a word's features). Weights are
// sublinear term frequencies (1 + ln tf); a word's trigrams together weigh as much as
// the word (each 1/sqrt(n) of n); the vector is L2-normalised. Word order does not
// matter.
//
// It finds near-duplicates (formatting, order, filler, typos) and rewordings with the
// lexicon's synonyms, not paraphrases in other words: that is what a learned embedder is
// for. Safe for concurrent use; about 5-15 µs for a short question.
type LocalEmbedder struct {
	dim int
	lex *lexicon // nil: the built-in lexicon
}

var (
	_ Embedder     = (*LocalEmbedder)(nil)
	_ EmbedderName = (*LocalEmbedder)(nil)
)

// NewLocalEmbedder returns an embedder of dim dimensions (512 when dim <= 0) with the
// built-in lexicon. The cache builds its own with the configured synonyms.
func NewLocalEmbedder(dim int) *LocalEmbedder {
	if dim <= 0 {
		dim = 512
	}
	return &LocalEmbedder{dim: dim}
}

// Name identifies the embedder, its dimension and its lexicon ("local-v2-512", with a
// hash of the configured synonyms appended when there are any), so that vectors made
// with another analysis never share a partition.
func (e *LocalEmbedder) Name() string {
	n := "local-v2-" + strconv.Itoa(e.dim)
	if e.lex != nil && e.lex.id != "" {
		n += "-" + e.lex.id
	}
	return n
}

// Embed returns one vector per text. It never fails.
func (e *LocalEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.embedInfo(e.lex.analyze(t))
	}
	return out, nil
}

// embedInfo embeds an analysed text.
func (e *LocalEmbedder) embedInfo(info textInfo) []float32 {
	tf := make(map[uint64]float32, 8*len(info.tokens))
	for _, t := range info.tokens {
		if t.class == clsStop {
			continue
		}
		tf[fnv64("w\x00"+t.norm)] += 1
		w := "^" + t.norm + "$"
		n := len(w) - 2
		if n <= 0 {
			continue
		}
		per := float32(1 / math.Sqrt(float64(n)))
		for i := 0; i+3 <= len(w); i++ {
			tf[fnv64("c\x00"+w[i:i+3])] += per
		}
	}
	v := make([]float32, e.dim)
	for h, f := range tf {
		weight := f
		if f > 1 {
			weight = float32(1 + math.Log(float64(f)))
		}
		idx := int(h % uint64(e.dim))
		if h>>63 == 1 {
			weight = -weight
		}
		v[idx] += weight
	}
	normalize(v)
	return v
}

// fnv64 is FNV-1a over s.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
