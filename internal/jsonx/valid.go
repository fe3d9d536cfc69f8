package jsonx

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// DefaultMaxDepth is the nesting limit ValidObject applies when given none: the
// request's top-level object is level 1, so 128 allows 127 levels of arrays and objects
// inside it, far more than any real request needs.
const DefaultMaxDepth = 128

// DepthError reports a document nested deeper than the limit. Nothing past Offset was
// looked at: the limit is checked before descending, so the cost of rejecting a deep
// document is bounded by the limit, not by the document.
type DepthError struct {
	// Limit is the nesting limit that was exceeded, in levels.
	Limit int
	// Offset is the byte offset of the opening bracket one level too deep.
	Offset int
}

func (e *DepthError) Error() string {
	return "jsonx: JSON nested deeper than the limit of " + strconv.Itoa(e.Limit) +
		" levels (at byte " + strconv.Itoa(e.Offset) + ")"
}

// SyntaxError reports a document that is not one well-formed JSON object.
type SyntaxError struct {
	// Offset is the byte offset where the text stops being valid (len(body) when it
	// ends too early).
	Offset int
	// Reason says what was wrong, e.g. "unexpected end of input".
	Reason string
}

func (e *SyntaxError) Error() string {
	return "jsonx: invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// The reasons a SyntaxError gives.
const (
	reasonNotObject  = "the document is not a JSON object"
	reasonEOF        = "unexpected end of input"
	reasonChar       = "unexpected character"
	reasonControl    = "control character in a string"
	reasonEscape     = "invalid escape in a string"
	reasonNumber     = "invalid number"
	reasonTrailing   = "data after the top-level object"
	reasonKeyNeeded  = "object key expected"
	reasonColon      = "colon expected after an object key"
	reasonSeparation = "comma or closing bracket expected"
)

// inlineLevels is how many nesting levels ValidObject tracks without allocating.
const inlineLevels = 512

// ValidObject reports whether body is exactly one well-formed JSON object (surrounding
// whitespace allowed) nested at most maxDepth levels deep (the object itself is level
// 1; values below 1 mean DefaultMaxDepth). It returns nil, a *SyntaxError or a
// *DepthError.
//
// It accepts the same texts as Valid (RFC 8259 grammar; string bytes are not checked
// for UTF-8, as encoding/json and gjson do not check them) but never recurses: it
// walks body once with an explicit stack of one bit per level, so its cost is linear
// in len(body), its stack use is constant whatever the nesting, and the depth limit is
// enforced before any level below it is looked at. It allocates nothing for limits up
// to 512 levels (one small slice above that) and nothing on success. Safe for
// concurrent use; body is not modified or retained.
func ValidObject(body []byte, maxDepth int) error {
	if maxDepth < 1 {
		maxDepth = DefaultMaxDepth
	}
	var inline [inlineLevels / 64]uint64
	stack := inline[:]
	if maxDepth > inlineLevels {
		stack = make([]uint64, (maxDepth+63)/64)
	}
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return &SyntaxError{Offset: i, Reason: reasonNotObject}
	}
	v := validator{b: body, stack: stack, max: maxDepth}
	return v.run(i)
}

// validator is the state of one ValidObject walk. Bit d-1 of stack is set when level d
// is an object (clear for an array).
type validator struct {
	b     []byte
	stack []uint64
	depth int
	max   int
}

// run walks the document from its first value at i. It is one loop over three states
// (a value expected, a key expected, a value just ended) instead of a function per
// grammar rule, so the Go stack does not grow with the nesting.
func (v *validator) run(i int) error {
	b := v.b
	state := stateValue
	for {
		switch state {
		case stateKey:
			i = skipSpace(b, i)
			if i == len(b) {
				return syntaxError(i, reasonEOF)
			}
			if b[i] != '"' {
				return syntaxError(i, reasonKeyNeeded)
			}
			var reason string
			if i, reason = scanString(b, i+1); reason != "" {
				return syntaxError(i, reason)
			}
			i = skipSpace(b, i)
			if i == len(b) {
				return syntaxError(i, reasonEOF)
			}
			if b[i] != ':' {
				return syntaxError(i, reasonColon)
			}
			i++
			state = stateValue
		case stateValue:
			i = skipSpace(b, i)
			if i == len(b) {
				return syntaxError(i, reasonEOF)
			}
			var err error
			if i, state, err = v.value(i); err != nil {
				return err
			}
		case stateAfter:
			if v.depth == 0 {
				return v.end(i)
			}
			i = skipSpace(b, i)
			if i == len(b) {
				return syntaxError(i, reasonEOF)
			}
			inObject := v.stack[(v.depth-1)/64]&(1<<((v.depth-1)%64)) != 0
			switch c := b[i]; {
			case c == ',' && inObject:
				i++
				state = stateKey
			case c == ',':
				i++
				state = stateValue
			case c == '}' && inObject, c == ']' && !inObject:
				v.depth--
				i++
			default:
				return syntaxError(i, reasonSeparation)
			}
		}
	}
}

// value checks the value starting at b[i] (not whitespace). A scalar is checked
// whole; a bracket opens a level. It returns where to go on and the next state.
func (v *validator) value(i int) (int, int, error) {
	b := v.b
	switch c := b[i]; c {
	case '{', '[':
		if err := v.push(i, c == '{'); err != nil {
			return i, 0, err
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == c+2 { // '{'+2 is '}', '['+2 is ']': empty
			v.depth--
			return i + 1, stateAfter, nil
		}
		if c == '{' {
			return i, stateKey, nil
		}
		return i, stateValue, nil
	case '"':
		j, reason := scanString(b, i+1)
		if reason != "" {
			return j, 0, syntaxError(j, reason)
		}
		return j, stateAfter, nil
	case 't', 'f', 'n':
		word := "null"
		switch c {
		case 't':
			word = "true"
		case 'f':
			word = "false"
		}
		if j, ok := literal(b, i, word); !ok {
			return j, 0, syntaxError(j, reasonChar)
		}
		return i + len(word), stateAfter, nil
	}
	j, ok := scanNumber(b, i)
	if !ok {
		if j == i {
			return j, 0, syntaxError(j, reasonChar)
		}
		return j, 0, syntaxError(j, reasonNumber)
	}
	return j, stateAfter, nil
}

// The states of validator.run.
const (
	stateValue = iota
	stateKey
	stateAfter
)

// push opens a level at i (an object when obj), failing when it would exceed the limit.
func (v *validator) push(i int, obj bool) error {
	if v.depth == v.max {
		return &DepthError{Limit: v.max, Offset: i}
	}
	w, bit := v.depth/64, uint64(1)<<(v.depth%64)
	if obj {
		v.stack[w] |= bit
	} else {
		v.stack[w] &^= bit
	}
	v.depth++
	return nil
}

// end checks that only whitespace follows the top-level object, which ended before i.
func (v *validator) end(i int) error {
	v.depth = 0
	if i = skipSpace(v.b, i); i != len(v.b) {
		return syntaxError(i, reasonTrailing)
	}
	return nil
}

func syntaxError(i int, reason string) error { return &SyntaxError{Offset: i, Reason: reason} }

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// literal checks that b holds word at i; on failure it returns where the mismatch is.
func literal(b []byte, i int, word string) (int, bool) {
	for k := 0; k < len(word); k++ {
		if i+k >= len(b) || b[i+k] != word[k] {
			return i + k, false
		}
	}
	return i, true
}

// SWAR constants: each byte of the word set to 0x01, 0x80, '"', '\\' and 0x20.
const (
	ones      = 0x0101010101010101
	highs     = 0x8080808080808080
	quotes    = ones * '"'
	backslash = ones * '\\'
	spaces    = ones * 0x20
)

// scanString checks the rest of a string whose opening quote is just before i and
// returns the index after its closing quote, or where it failed and why. Runs of plain
// bytes are skipped eight at a time.
func scanString(b []byte, i int) (int, string) {
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			// A byte below 0x20, a quote or a backslash sets its high bit in special
			// (the lowest such byte exactly; bytes above it may be false positives).
			special := (x-spaces)&^x&highs | hasZero(x^quotes) | hasZero(x^backslash)
			if special == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(special) / 8
			break
		}
		if i >= len(b) {
			return i, reasonEOF
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, ""
		case c == '\\':
			i++
			if i == len(b) {
				return i, reasonEOF
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				for k := 1; k <= 4; k++ {
					if i+k >= len(b) {
						return len(b), reasonEOF
					}
					if !isHex(b[i+k]) {
						return i + k, reasonEscape
					}
				}
				i += 5
			default:
				return i, reasonEscape
			}
		case c < 0x20:
			return i, reasonControl
		default:
			i++
		}
	}
}

// hasZero sets the high bit of the lowest zero byte of x (and maybe of bytes above it).
func hasZero(x uint64) uint64 { return (x - ones) & ^x & highs }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber checks a number starting at i and returns the index after it.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			return i + 1, false
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = digits(b, i)
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
