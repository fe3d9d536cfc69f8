package policies

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// LatestLabel is the built-in label for a prompt's highest version.
const LatestLabel = "latest"

// ProductionLabel is the label used when a request names no version and no pin applies.
const ProductionLabel = "production"

// Ref is a request's reference to a prompt: an ID and at most one of Version and Label.
// With neither, Resolve uses the pin for the request's feature or team, else the
// production label, else the latest version.
type Ref struct {
	ID string
	// Version is an exact version ("3", "1.2.0"): it starts with a digit.
	Version string
	// Label names a label from pins.yaml ("production", "canary") or "latest".
	Label string
	// Variables are the object form's variables (nil for the header form).
	Variables map[string]any
}

// String returns the reference as the header writes it: id, id@version or id@label.
func (r Ref) String() string {
	switch {
	case r.Version != "":
		return r.ID + "@" + r.Version
	case r.Label != "":
		return r.ID + "@" + r.Label
	}
	return r.ID
}

// RefError is a prompt reference that is malformed or names no prompt, version or label.
// The gateway answers it with 400 invalid_request_error, param prompt.
type RefError struct {
	// Ref is the reference as the client wrote it.
	Ref string
	// Reason says what is wrong: "unknown prompt", "unknown version", ….
	Reason string
}

func (e *RefError) Error() string { return "prompt " + strconv.Quote(e.Ref) + ": " + e.Reason }

// ParseRefHeader parses the x-switchyard-prompt header: "id", "id@version" or
// "id@label". It does not allocate.
func ParseRefHeader(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	id, sel, hasSel := strings.Cut(s, "@")
	r := Ref{ID: id}
	if !promptIDPattern.MatchString(id) {
		return Ref{}, &RefError{Ref: s, Reason: "the id must be letters, digits, '.', '_' or '-'"}
	}
	if !hasSel {
		return r, nil
	}
	if err := r.setSelector(sel); err != nil {
		return Ref{}, &RefError{Ref: s, Reason: err.Error()}
	}
	return r, nil
}

// ParseRefObject parses a request's prompt object, the Responses API shape:
//
//	{"id": "support-reply", "version": "3", "variables": {"customer": "Ada"}}
//
// version may be a string (a version or a label) or a number, and may be absent;
// variables may be absent or null. Other members are ignored.
func ParseRefObject(raw []byte) (Ref, error) {
	if !jsonx.Valid(raw) {
		return Ref{}, &RefError{Ref: string(raw), Reason: "the prompt object is not valid JSON"}
	}
	doc := jsonx.Parse(string(raw))
	if !doc.IsObject() {
		return Ref{}, &RefError{Ref: doc.Raw, Reason: "prompt must be an object with an id"}
	}
	id := doc.Get("id")
	if id.Type != jsonx.String || !promptIDPattern.MatchString(id.Str) {
		return Ref{}, &RefError{Ref: id.Raw, Reason: "prompt.id must be a string of letters, digits, '.', '_' or '-'"}
	}
	r := Ref{ID: id.Str}
	ver := doc.Get("version")
	sel := ""
	switch {
	case ver.Type == jsonx.String:
		sel = ver.Str
	case isJSONNumber(ver):
		sel = ver.Raw
	case ver.Exists() && ver.Raw != "null":
		return Ref{}, &RefError{Ref: r.ID, Reason: "prompt.version must be a string or a number"}
	}
	if sel != "" {
		if err := r.setSelector(sel); err != nil {
			return Ref{}, &RefError{Ref: r.ID + "@" + sel, Reason: err.Error()}
		}
	}
	switch vars := doc.Get("variables"); {
	case vars.IsObject():
		r.Variables, _ = vars.Value().(map[string]any) // the document was validated above
	case vars.Exists() && vars.Raw != "null":
		return Ref{}, &RefError{Ref: r.String(), Reason: "prompt.variables must be an object"}
	}
	return r, nil
}

// isJSONNumber reports whether r is a number (jsonx exposes only the string type).
func isJSONNumber(r jsonx.Result) bool {
	return r.Exists() && r.Raw != "" && (r.Raw[0] == '-' || (r.Raw[0] >= '0' && r.Raw[0] <= '9'))
}

// setSelector sets Version (text starting with a digit) or Label (a letter).
func (r *Ref) setSelector(sel string) error {
	switch {
	case sel == "":
		return errString("nothing after @: write id, id@version or id@label")
	case sel[0] >= '0' && sel[0] <= '9':
		if !promptVersionPattern.MatchString(sel) {
			return errString("the version must be an integer or a semver-like string")
		}
		r.Version = sel
	default:
		if !promptLabelPattern.MatchString(sel) {
			return errString("a label must be lower-case letters, digits, '_' or '-', starting with a letter")
		}
		r.Label = sel
	}
	return nil
}

// errString is a constant error message.
type errString string

func (e errString) Error() string { return string(e) }
