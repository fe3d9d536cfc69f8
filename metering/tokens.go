package metering

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// The two OpenAI encodings the tokenizer loads.
const (
	EncodingO200K  = "o200k_base"
	EncodingCL100K = "cl100k_base"
)

// loaderOnce guards tiktoken.SetBpeLoader. The tiktoken library keeps its vocabulary
// loader in a package variable whose default downloads vocabularies over the network at
// run time; the offline loader reads the copies compiled into tiktoken-go-loader instead.
// Setting it is the library's only API for that, so NewTokenizer does it exactly once per
// process, before the first encoding is loaded. This is the one piece of package-level
// state in metering, and it belongs to the library, not to us.
var loaderOnce sync.Once

// Tokenizer counts tokens with tiktoken for OpenAI models and approximates them for other
// vendors. It is immutable after NewTokenizer and safe for concurrent use. Encoders are
// loaded once per encoding and shared.
//
// Cost: tiktoken-go encodes roughly 0.4–1 M tokens/s per core (see the benchmarks), about
// 0.25–0.5 ms of CPU per KiB of English text. To bound that on the request path, text
// longer than ExactBytes is counted exactly on its first ExactBytes and extrapolated by
// length, and counts of texts of 8 bytes or more are cached (see TokenizerConfig), so a
// system prompt or conversation history resent every turn is counted once.
// The regexp engine underneath shares a small pool of matchers guarded by one mutex per
// encoding; its critical section is a slice push/pop.
type Tokenizer struct {
	// enc loads each encoding on first use: a gateway whose providers always report usage
	// never pays the vocabularies' 35 MB.
	enc map[string]func() (*tiktoken.Tiktoken, error)
	// exactBytes bounds the text counted exactly per Count call.
	exactBytes int
	// cache holds recent counts; nil when disabled.
	cache *countCache
}

// TokenizerConfig tunes a Tokenizer. The zero value is the default.
type TokenizerConfig struct {
	// ExactBytes is the longest text, in bytes, counted token by token; longer texts are
	// counted on their first ExactBytes and scaled by length. 0 means the default,
	// 16 KiB (≈4k tokens, ≈8 ms at worst); a negative value counts everything exactly.
	ExactBytes int `yaml:"exact_bytes"`
	// CacheEntries bounds the cache of recent counts (texts of 8 bytes or more, such as
	// system prompts and history resent every turn), about 16 bytes each. 0 means the
	// default, 65536; a negative value disables the cache.
	CacheEntries int `yaml:"cache_entries"`
}

// defaultExactBytes is TokenizerConfig.ExactBytes's default.
const defaultExactBytes = 16 << 10

// NewTokenizer loads the o200k_base and cl100k_base vocabularies and returns a tokenizer
// with the default config. The first call in a process takes about 0.25 s and 35 MB of
// heap; each further Tokenizer about 0.1 s and 20 MB (the library caches the vocabularies
// but not its encoders), so build one per process and share it.
func NewTokenizer() (*Tokenizer, error) { return NewTokenizerConfig(TokenizerConfig{}) }

// NewTokenizerConfig is NewTokenizer with a config.
func NewTokenizerConfig(cfg TokenizerConfig) (*Tokenizer, error) {
	loaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
	t := &Tokenizer{enc: make(map[string]func() (*tiktoken.Tiktoken, error), 2), exactBytes: cfg.ExactBytes}
	if t.exactBytes == 0 {
		t.exactBytes = defaultExactBytes
	}
	switch {
	case cfg.CacheEntries == 0:
		t.cache = newCountCache(1 << 16)
	case cfg.CacheEntries > 0:
		t.cache = newCountCache(cfg.CacheEntries)
	}
	for _, name := range []string{EncodingO200K, EncodingCL100K} {
		t.enc[name] = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
			e, err := tiktoken.GetEncoding(name)
			if err != nil {
				return nil, fmt.Errorf("metering: loading the %s vocabulary: %w", name, err)
			}
			return e, nil
		})
	}
	return t, nil
}

// Approximation factors, in thousandths, applied to the cl100k_base count for vendors
// whose tokenizers are not public or not in tiktoken. They are deliberately rough and
// lean high, because estimates feed budgets and limits, where undercounting lets a
// request through that should not pass; the provider's reported usage is what gets
// billed. Claude's tokenizer yields noticeably more tokens than cl100k for the same
// English text (Anthropic documents growth in newer models), Gemini's SentencePiece and
// Mistral's Tekken are close to it, and unknown models get a 10% margin.
var vendorFactors = []struct {
	prefix   string
	permille int64
}{
	{"claude", 1200},
	{"gemini", 1050},
	{"gemma", 1050},
	{"mistral", 1100},
	{"ministral", 1100},
	{"codestral", 1100},
	{"open-mistral", 1100},
	{"llama", 1050},
}

// defaultPermille is the factor for models matched by no rule.
const defaultPermille = 1100

// Encoding returns the tiktoken encoding used for model and the factor (in thousandths)
// applied to its count: o200k_base ×1000 for the GPT-4o, GPT-4.1, GPT-4.5, o-series and
// GPT-5 families; cl100k_base ×1000 for GPT-4, GPT-3.5 and the text-embedding-3 and ada-002
// embeddings; cl100k_base × a vendor factor for everything else.
func Encoding(model string) (encoding string, permille int64) {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	switch {
	case hasFamily(m, "gpt-4o"), hasFamily(m, "chatgpt-4o"), hasFamily(m, "gpt-4.1"), hasFamily(m, "gpt-4.5"),
		hasFamily(m, "gpt-5"), hasFamily(m, "gpt-oss"), hasFamily(m, "o1"), hasFamily(m, "o3"), hasFamily(m, "o4"):
		return EncodingO200K, 1000
	case hasFamily(m, "gpt-4"), hasFamily(m, "gpt-3.5"), hasFamily(m, "text-embedding-3"),
		hasFamily(m, "text-embedding-ada-002"):
		return EncodingCL100K, 1000
	}
	for _, f := range vendorFactors {
		if strings.HasPrefix(m, f.prefix) {
			return EncodingCL100K, f.permille
		}
	}
	return EncodingCL100K, defaultPermille
}

// hasFamily reports whether model is family or a member of it: family followed by the
// end, '-', '.' (gpt-5.1) or ':' (fine-tunes).
func hasFamily(model, family string) bool {
	if !strings.HasPrefix(model, family) {
		return false
	}
	if len(model) == len(family) {
		return true
	}
	switch model[len(family)] {
	case '-', '.', ':':
		// "gpt-4" must not claim "gpt-4o"/"gpt-4.1": those are tested first.
		return true
	}
	return false
}

// Count returns the number of tokens text has for model: exact for OpenAI encodings up
// to ExactBytes, scaled by a documented factor for other vendors. Special-token text such
// as "<|endoftext|>" is counted as ordinary text.
func (t *Tokenizer) Count(model, text string) int {
	enc, permille := Encoding(model)
	return scale(t.countEncoding(enc, text), permille)
}

// countEncoding counts text with one encoding, extrapolating past exactBytes.
func (t *Tokenizer) countEncoding(encoding, text string) int {
	if text == "" {
		return 0
	}
	if t.cache == nil || len(text) < minCachedBytes {
		return t.countUncached(encoding, text)
	}
	k := t.cache.key(encoding, text)
	if n, ok := t.cache.get(k); ok {
		return n
	}
	n := t.countUncached(encoding, text)
	t.cache.put(k, n)
	return n
}

// cached returns the cached count of text, if any.
func (t *Tokenizer) cached(encoding, text string) (int, bool) {
	if t.cache == nil || len(text) < minCachedBytes {
		return 0, false
	}
	return t.cache.get(t.cache.key(encoding, text))
}

// countUncached counts text with one encoding, extrapolating past exactBytes.
func (t *Tokenizer) countUncached(encoding, text string) int {
	e, err := t.enc[encoding]()
	if err != nil { // the vocabulary ships in the binary, so this is a build defect
		return (len(text) + 3) / 4
	}
	if t.exactBytes < 0 || len(text) <= t.exactBytes {
		return len(e.EncodeOrdinary(text))
	}
	head := text[:t.exactBytes]
	for i := 0; i < utf8.UTFMax-1; i++ { // do not split a UTF-8 sequence
		if r, size := utf8.DecodeLastRuneInString(head); r != utf8.RuneError || size != 1 {
			break
		}
		head = head[:len(head)-1]
	}
	n := len(e.EncodeOrdinary(head))
	// Scale by length, rounding up.
	return int((int64(n)*int64(len(text)) + int64(len(head)) - 1) / int64(len(head)))
}

// scale applies a factor in thousandths, rounding up.
func scale(n int, permille int64) int {
	if permille == 1000 || n == 0 {
		return n
	}
	return int((int64(n)*permille + 999) / 1000)
}
