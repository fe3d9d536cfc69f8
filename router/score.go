package router

import (
	"bytes"
	"math"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// ScoreWeights are the parts of the complexity score; each signal is in [0,1] and the
// score is their weighted sum, capped at 1. The defaults sum to 1.
type ScoreWeights struct {
	// Length weighs the prompt size, saturating at LengthTokens [0.35].
	Length float64 `yaml:"length"`
	// Code weighs code signals: fences, keywords, braces [0.25].
	Code float64 `yaml:"code"`
	// Math weighs math signals: equations, LaTeX, proof words [0.2].
	Math float64 `yaml:"math"`
	// Depth weighs the conversation's depth, saturating at 10 messages [0.1].
	Depth float64 `yaml:"depth"`
	// Reasoning weighs words that ask for analysis ("step by step", "prove", "design") [0.1].
	Reasoning float64 `yaml:"reasoning"`
	// LengthTokens is the prompt size at which the length signal saturates [2000].
	LengthTokens int `yaml:"length_tokens"`
}

// WithDefaults returns w with the defaults when it is all zero.
func (w ScoreWeights) WithDefaults() ScoreWeights {
	if w == (ScoreWeights{}) {
		w = ScoreWeights{Length: 0.35, Code: 0.25, Math: 0.2, Depth: 0.1, Reasoning: 0.1}
	}
	if w.LengthTokens <= 0 {
		w.LengthTokens = 2000
	}
	return w
}

var (
	codeSignals      = [][]byte{[]byte("```"), []byte("func "), []byte("def "), []byte("class "), []byte("import "), []byte("#include"), []byte("select "), []byte("=>"), []byte("();"), []byte("{\\n"), []byte("return ")}
	mathSignals      = [][]byte{[]byte("\\\\frac"), []byte("\\\\int"), []byte("\\\\sum"), []byte("integral"), []byte("derivative"), []byte("equation"), []byte("theorem"), []byte("matrix"), []byte("probability"), []byte("solve for"), []byte(" = "), []byte("^2")}
	reasoningSignals = [][]byte{[]byte("step by step"), []byte("prove"), []byte("analy"), []byte("explain why"), []byte("compare"), []byte("trade-off"), []byte("tradeoff"), []byte("design"), []byte("architect"), []byte("optimi")}
)

// Score rates how hard a chat request looks, in [0,1], from transparent signals in the
// raw body; hint ("low" or "high", from x-switchyard-complexity) overrides it.
func Score(body []byte, promptTokens int, hint string, w ScoreWeights) float64 {
	switch hint {
	case "low":
		return 0
	case "high":
		return 1
	}
	w = w.WithDefaults()
	msgs := jsonx.Get(body, "messages")
	depth := 0
	var text []byte
	msgs.ForEach(func(_, m jsonx.Result) bool {
		depth++
		c := m.Get("content")
		text = append(text, bytes.ToLower([]byte(c.Raw))...)
		return true
	})
	s := w.Length*math.Min(float64(promptTokens)/float64(w.LengthTokens), 1) +
		w.Code*signal(text, codeSignals, 2) +
		w.Math*signal(text, mathSignals, 2) +
		w.Depth*math.Min(float64(depth)/10, 1) +
		w.Reasoning*signal(text, reasoningSignals, 1)
	return math.Min(s, 1)
}

// signal is the share of need signals present (1 once need distinct ones are found).
func signal(text []byte, signals [][]byte, need int) float64 {
	n := 0
	for _, s := range signals {
		if bytes.Contains(text, s) {
			n++
			if n >= need {
				return 1
			}
		}
	}
	return float64(n) / float64(need)
}
