package apierr

import "strings"

// Redacted replaces every credential Redact finds.
const Redacted = "[REDACTED]"

// keyPrefixes start the API keys and tokens of the providers the gateway talks to (and
// of the common ones it may be configured for): OpenAI (sk-, sk-proj-, sk-svcacct-),
// Anthropic (sk-ant-), Groq (gsk_), xAI (xai-), Google (AIza), Stripe-style restricted
// and publishable keys (rk_, pk_), generic "key-" keys, and JWTs (eyJ).
var keyPrefixes = []string{"sk-", "sk_", "gsk_", "xai-", "AIza", "rk_", "pk_", "key-", "eyJ"}

// minGenericKey is the shortest token without a known prefix that Redact treats as a
// credential, when it mixes letters and digits.
const minGenericKey = 20

// Redact returns s with credentials replaced by Redacted, for logging text that came
// from elsewhere (an upstream's error message). Every occurrence of one of secrets (the
// key the caller sent, whatever its shape; empty ones are ignored) is replaced first.
// Then a token (a run of letters, digits and "-_.*+/=~") is a credential when it starts
// with a known key prefix, follows "Bearer ", or is at least 20 characters mixing
// letters and digits and is not a URL. Masked keys ("sk-proj-****abcd") count too: they
// still name the key. Short words, plain numbers and URLs are kept, so the message
// stays readable. It allocates only when it changes s.
func Redact(s string, secrets ...string) string {
	for _, k := range secrets {
		if k != "" && strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, Redacted)
		}
	}
	var b strings.Builder
	last := 0 // s[:last] is already in b
	bearer := false
	for i := 0; i < len(s); {
		if !isTokenByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isTokenByte(s[j]) {
			j++
		}
		tok := strings.TrimRight(s[i:j], ".") // a sentence's full stop is not part of a key
		if tok != "" && (bearer || isCredential(tok)) {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = i + len(tok)
		}
		bearer = strings.EqualFold(tok, "bearer")
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isCredential reports whether the token tok looks like a credential.
func isCredential(tok string) bool {
	for _, p := range keyPrefixes {
		if len(tok) > len(p)+4 && strings.HasPrefix(tok, p) {
			return true
		}
	}
	if len(tok) < minGenericKey || strings.Contains(tok, "//") { // "//host/path" is a URL

		return false
	}
	letters, digits := false, false
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letters = true
		}
	}
	return letters && digits
}

// isTokenByte reports whether c may appear in a key or token.
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.*+/=~", c) >= 0
}
