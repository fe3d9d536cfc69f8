package policies

import (
	"github.com/switchyard/switchyard/internal/jsonx"
	"math"
	"reflect"
	"strconv"
)

// PromptVarTypes are the variable types a prompt may declare.
var PromptVarTypes = []string{"string", "number", "integer", "boolean", "array", "object"}

// VarError is a request's variable that cannot render: missing, or of the wrong type. The
// gateway answers it with 400 invalid_request_error, param prompt.variables.<Name>.
type VarError struct {
	// Name is the variable's name.
	Name string
	// Reason completes "variable NAME …": "is required", "must be an integer, not a string".
	Reason string
}

func (e *VarError) Error() string {
	return "prompt variable " + strconv.Quote(e.Name) + " " + e.Reason
}

// PromptVariable is a compiled variable declaration.
type PromptVariable struct {
	Name     string
	Type     string
	Required bool
	// Default is the JSON-decoded default (nil: none).
	Default any
	// Description is the declaration's description.
	Description string
}

// jsonType names v's JSON type as a variable type: integer for whole numbers, else
// number; "" for a value JSON cannot hold.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return "integer"
		}
		return "number"
	case float32:
		return jsonType(float64(x))
	case int, int64, int32, uint, uint64, uint32:
		return "integer"
	case jsonx.NumberLiteral:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		if f, err := x.Float64(); err == nil {
			return jsonType(f)
		}
		return ""
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map:
		return "object"
	}
	return ""
}

// typeFits reports whether a value of JSON type got may fill a variable of type want.
func typeFits(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

// article returns "a" or "an" for a type name, for messages.
func article(t string) string {
	switch t {
	case "integer", "array", "object":
		return "an " + t
	}
	return "a " + t
}

// checkValue returns a VarError when v does not fit variable d.
func checkValue(d *PromptVariable, v any) error {
	got := jsonType(v)
	if got == "" {
		return &VarError{Name: d.Name, Reason: "has a value JSON cannot hold"}
	}
	if !typeFits(d.Type, got) {
		if got == "integer" {
			got = "number"
		}
		return &VarError{Name: d.Name, Reason: "must be " + article(d.Type) + ", not " + article(got)}
	}
	return nil
}

// resolveVars fills vals[i] with the value of variable i: the request's (when present
// and not null), else the default. absent[i] is set when neither exists. Unknown names in
// vars are ignored, so that versions of a rollout may declare different variables. The
// first missing required or mistyped variable, in name order, is the error.
func resolveVars(decl []PromptVariable, vars map[string]any, vals []any, absent []bool) error {
	for i := range decl {
		d := &decl[i]
		v, ok := vars[d.Name]
		switch {
		case ok && v != nil:
			if err := checkValue(d, v); err != nil {
				return err
			}
			vals[i] = v
		case d.Default != nil:
			vals[i] = d.Default
		case d.Required:
			return &VarError{Name: d.Name, Reason: "is required"}
		default:
			absent[i] = true
		}
	}
	return nil
}
