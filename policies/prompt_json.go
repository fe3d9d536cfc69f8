package policies

import (
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// These helpers write variable values into a rendered JSON string without intermediate
// strings. They are text formatting, not a second JSON codec: full encodes and decodes
// still go through internal/jsonx. appendJSONValue exists because encoding/json escapes
// <, > and & as \u003c…, which a model would then read literally inside prompt text.

// appendValueText appends v as prompt text, escaped for a JSON string: a string as is,
// numbers and booleans formatted, arrays and objects as compact JSON (keys sorted).
func appendValueText(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return jsonx.AppendEscaped(dst, x)
	case bool, float64, float32, int, int64, int32, uint, uint64, uint32, jsonx.NumberLiteral, nil:
		return appendJSONValue(dst, v) // nothing to escape in these
	}
	var scratch [256]byte
	return jsonx.AppendEscaped(dst, string(appendJSONValue(scratch[:0], v)))
}

// appendJSONValue appends v as JSON. v holds what a JSON decode produces (nil, bool,
// float64, jsonx.NumberLiteral, string, []any, map[string]any) or Go integers; anything else is
// encoded through reflection of slices and string-keyed maps, or as null.
func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case string:
		return jsonx.Quote(dst, x)
	case jsonx.NumberLiteral:
		return append(dst, x...)
	case float64:
		return appendFloat(dst, x)
	case float32:
		return appendFloat(dst, float64(x))
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.Quote(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, x[k])
		}
		return append(dst, '}')
	}
	return appendReflect(dst, reflect.ValueOf(v))
}

// appendReflect encodes other slices and string-keyed maps (a Go caller's []string, say).
func appendReflect(dst []byte, rv reflect.Value) []byte {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		dst = append(dst, '[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, rv.Index(i).Interface())
		}
		return append(dst, ']')
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			return appendJSONValue(dst, m)
		}
	case reflect.String:
		return jsonx.Quote(dst, rv.String())
	}
	return append(dst, "null"...)
}

// appendFloat formats f as encoding/json does.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
