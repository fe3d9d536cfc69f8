package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/yamlx"
)

// PromptVersion is one compiled prompt version. It is immutable (treat its fields as
// read-only), safe for concurrent use, and lives as long as the Registry that holds it.
type PromptVersion struct {
	// ID and Version name it; Ref is "ID@Version".
	ID, Version, Ref string
	// Hash is the content hash, "sha256:<hex>", over the model, params, variables (type,
	// required, default) and messages: what prompts.lock records. Descriptions and YAML
	// layout (comments, key order, quoting) do not change it.
	Hash string
	// Published says prompts.lock records this version (with this hash).
	Published bool
	// Model is the default model ("" for none).
	Model string
	// Description is the file's description.
	Description string
	// File and Line locate the version's file.
	File string
	Line int

	vars   []PromptVariable // sorted by name
	msgs   []cMessage
	params []PromptParam // sorted by key
	head   []byte        // {"model":"…","messages":  or  {"messages":
	tail   []byte        // ,"key":value…}  or  }
	size   int           // bytes of the body without variable values or client messages
	uses   []int         // how many times each variable is used
	key    versionKey
}

// PromptParam is one default request parameter: its key and JSON value.
type PromptParam struct {
	Key   string
	Value jsonx.RawMessage
}

// cMessage is a compiled message: the bytes up to the content's opening quote, then the
// content's segments.
type cMessage struct {
	role, content string
	prefix        []byte
	segs          []segment
}

var (
	promptIDPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	promptVersionPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)){0,2}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	promptLabelPattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
)

// promptRoles are the message roles a template may have.
var promptRoles = []string{"system", "developer", "user", "assistant"}

// reservedParams are request keys params may not set: the template or the client owns them.
var reservedParams = []string{"model", "messages", "prompt", "stream", "stream_options"}

// maxParams bounds params per version (RenderRequest tracks them in a 64-bit set).
const maxParams = 64

// Variables returns the declared variables, sorted by name (a copy).
func (v *PromptVersion) Variables() []PromptVariable { return slices.Clone(v.vars) }

// Params returns the default parameters, sorted by key (a copy).
func (v *PromptVersion) Params() []PromptParam { return slices.Clone(v.params) }

// Messages returns the message templates as written (Role and Content only).
func (v *PromptVersion) Messages() []PromptMessage {
	out := make([]PromptMessage, len(v.msgs))
	for i, m := range v.msgs {
		out[i] = PromptMessage{Role: m.role, Content: m.content}
	}
	return out
}

// compileVersion validates one prompt file and compiles it; problems go to errs (the
// result is then nil), remarks to warns.
func compileVersion(f *PromptFile, errs, warns *yamlx.Errors) *PromptVersion {
	before := len(*errs)
	if !promptIDPattern.MatchString(f.ID) {
		errs.Add(f.File, f.lineOf("id"), "prompt id %q must be letters, digits, '.', '_' or '-' (starting with a letter or digit)", f.ID)
	}
	if !promptVersionPattern.MatchString(f.Version.Value) {
		errs.Add(f.File, f.lineOf("version"), "prompt version %q must be an integer or a semver-like string (3, 1.2.0, 2.0.0-rc.1)", f.Version.Value)
	}
	v := &PromptVersion{ID: f.ID, Version: f.Version.Value, Ref: f.ID + "@" + f.Version.Value, Model: f.Model,
		Description: f.Description, File: f.File, Line: f.lineOf("version"), key: parseVersionKey(f.Version.Value)}
	canonParams := compileParams(v, f, errs)
	canonVars := compileVars(v, f, errs)
	used := compileMessages(v, f, errs)
	if len(*errs) > before {
		return nil
	}
	for _, d := range v.vars {
		if !used[d.Name] {
			warns.Add(f.File, f.Variables[d.Name].Line, "prompt %s: variable %q is declared but no message uses it", v.Ref, d.Name)
		}
	}
	v.Hash = contentHash(v, canonParams, canonVars)
	v.assemble()
	return v
}

func compileParams(v *PromptVersion, f *PromptFile, errs *yamlx.Errors) map[string]any {
	line := f.lineOf("params")
	if len(f.Params) > maxParams {
		errs.Add(f.File, line, "params: at most %d keys", maxParams)
	}
	var params map[string]any
	if err := normalizeJSON(f.Params, &params); err != nil {
		errs.Add(f.File, line, "params must be JSON values (string keys): %v", err)
		return nil
	}
	for _, k := range sortedKeys(params) {
		if slices.Contains(reservedParams, k) {
			errs.Add(f.File, line, "params may not set %q (use model: for the default model; the client owns %s)", k, strings.Join(reservedParams[1:], ", "))
			continue
		}
		v.params = append(v.params, PromptParam{Key: k, Value: appendJSONValue(nil, params[k])})
	}
	return params
}

// canonVar is a variable as the content hash sees it.
type canonVar struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Default  any    `json:"default"`
}

func compileVars(v *PromptVersion, f *PromptFile, errs *yamlx.Errors) map[string]canonVar {
	canon := map[string]canonVar{}
	for _, name := range sortedKeys(f.Variables) {
		d := f.Variables[name]
		if d == nil { // "name:" with nothing: a string variable
			d = &PromptVar{Line: f.lineOf("variables")}
			f.Variables[name] = d
		}
		if !validVarName(name) {
			errs.Add(f.File, d.Line, "variable name %q must be a letter or '_', then letters, digits or '_'", name)
		}
		cv := PromptVariable{Name: name, Type: d.Type, Required: d.Required, Description: d.Description}
		if cv.Type == "" {
			cv.Type = "string"
		}
		if !slices.Contains(PromptVarTypes, cv.Type) {
			errs.Add(f.File, d.Line, "variable %q: unknown type %q (want one of %s)", name, cv.Type, strings.Join(PromptVarTypes, ", "))
		}
		if d.Default != nil {
			if err := normalizeJSON(d.Default, &cv.Default); err != nil {
				errs.Add(f.File, d.Line, "variable %q: default is not a JSON value: %v", name, err)
			} else if cv.Required {
				errs.Add(f.File, d.Line, "variable %q is required and has a default: drop one", name)
			} else if err := checkValue(&cv, cv.Default); err != nil {
				errs.Add(f.File, d.Line, "variable %q: default %s", name, err.(*VarError).Reason)
			}
		}
		v.vars = append(v.vars, cv)
		canon[name] = canonVar{Type: cv.Type, Required: cv.Required, Default: cv.Default}
	}
	return canon
}

// compileMessages compiles the templates and returns the variable names they use.
func compileMessages(v *PromptVersion, f *PromptFile, errs *yamlx.Errors) map[string]bool {
	used := map[string]bool{}
	v.uses = make([]int, len(v.vars))
	if len(f.Messages) == 0 {
		errs.Add(f.File, f.lineOf("messages"), "prompt %s has no messages", v.Ref)
	}
	index := func(name string) (int, bool) {
		i, ok := slices.BinarySearchFunc(v.vars, name, func(d PromptVariable, n string) int { return strings.Compare(d.Name, n) })
		return i, ok
	}
	for i, m := range f.Messages {
		if m == nil {
			errs.Add(f.File, f.lineOf("messages"), "message %d is empty", i+1)
			continue
		}
		if !slices.Contains(promptRoles, m.Role) {
			errs.Add(f.File, m.Line, "message %d: role %q must be one of %s", i+1, m.Role, strings.Join(promptRoles, ", "))
		}
		if strings.TrimSpace(m.Content) == "" {
			errs.Add(f.File, m.Line, "message %d has no content", i+1)
		}
		segs, names, err := parseTemplate(m.Content, index)
		if err != nil {
			var te *templateError
			errors.As(err, &te)
			errs.Add(f.File, m.templateLine(te.off), "message %d: %s", i+1, te.msg)
			continue
		}
		prefix := append([]byte(`{"role":`), jsonx.Quote(nil, m.Role)...)
		prefix = append(prefix, `,"content":"`...)
		v.msgs = append(v.msgs, cMessage{role: m.Role, content: m.Content, prefix: prefix, segs: segs})
		for _, n := range names {
			used[n] = true
		}
		for _, sg := range segs {
			if sg.v >= 0 {
				v.uses[sg.v]++
			}
		}
	}
	return used
}

// templateLine maps a byte offset of the content to a file line: exact for literal block
// scalars (|), the content's first line otherwise.
func (m *PromptMessage) templateLine(off int) int {
	if !m.contentBlock {
		return m.contentLine
	}
	return m.contentLine + 1 + strings.Count(m.Content[:off], "\n")
}

// contentHash is the canonical hash prompts.lock records.
func contentHash(v *PromptVersion, params map[string]any, vars map[string]canonVar) string {
	type canonMsg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	c := struct {
		Model     string              `json:"model"`
		Params    map[string]any      `json:"params"`
		Variables map[string]canonVar `json:"variables"`
		Messages  []canonMsg          `json:"messages"`
	}{Model: v.Model, Params: params, Variables: vars}
	if c.Params == nil {
		c.Params = map[string]any{}
	}
	for _, m := range v.msgs {
		c.Messages = append(c.Messages, canonMsg{Role: m.role, Content: m.content})
	}
	b, err := jsonx.Marshal(c) // maps encode with sorted keys: canonical
	if err != nil {
		panic("policies: canonical prompt content does not encode: " + err.Error()) // normalised above
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// assemble precomputes the body bytes around the messages.
func (v *PromptVersion) assemble() {
	v.head = append(v.head, '{')
	if v.Model != "" {
		v.head = append(v.head, `"model":`...)
		v.head = jsonx.Quote(v.head, v.Model)
		v.head = append(v.head, ',')
	}
	v.head = append(v.head, `"messages":`...)
	for _, p := range v.params {
		v.tail = append(v.tail, ',')
		v.tail = jsonx.Quote(v.tail, p.Key)
		v.tail = append(v.tail, ':')
		v.tail = append(v.tail, p.Value...)
	}
	v.tail = append(v.tail, '}')
	v.size = len(v.head) + len(v.tail) + 2
	for _, m := range v.msgs {
		v.size += len(m.prefix) + 3
		for _, s := range m.segs {
			v.size += len(s.text) + len(s.def)
		}
	}
}

// normalizeJSON converts a YAML-decoded value to what a JSON decode gives (float64
// numbers, map[string]any objects), so that defaults and params compare, hash and
// render the same whatever their YAML spelling.
func normalizeJSON(in any, out any) error {
	b, err := jsonx.Marshal(in)
	if err != nil {
		return err
	}
	return jsonx.Unmarshal(b, out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
