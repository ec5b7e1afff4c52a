package contract

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// goSchema derives the JSON Schema (2020-12) of what encoding/json makes of
// a value of type t: the response bodies are documented from the very types
// the handlers encode, so the two cannot drift apart.
//
// over may replace the schema of a struct field (a json.RawMessage holding
// a CloudEvent, say); it returns false to keep the derived one.
func goSchema(t reflect.Type, over func(owner reflect.Type, f reflect.StructField) (any, bool)) any {
	return goSchemaSeen(t, over, map[reflect.Type]bool{})
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

func goSchemaSeen(t reflect.Type, over func(reflect.Type, reflect.StructField) (any, bool), seen map[reflect.Type]bool) any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() != reflect.Pointer && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		return map[string]any{"description": "encoded by " + t.String() + "'s MarshalJSON"}
	case t.Kind() != reflect.Pointer && t.Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return goSchemaSeen(t.Elem(), over, seen)
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": goSchemaSeen(t.Elem(), over, seen)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": goSchemaSeen(t.Elem(), over, seen)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if seen[t] {
			return map[string]any{"type": "object"}
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		var required []any
		var fields func(t reflect.Type)
		fields = func(st reflect.Type) {
			for i := 0; i < st.NumField(); i++ {
				f := st.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if f.Anonymous && name == "" {
					ft := f.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						fields(ft)
						continue
					}
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				var s any
				if over != nil {
					if o, ok := over(t, f); ok {
						s = o
					}
				}
				if s == nil {
					s = goSchemaSeen(f.Type, over, seen)
					// A nil pointer, slice or map without omitempty is null.
					if k := f.Type.Kind(); (k == reflect.Pointer || k == reflect.Map) && !strings.Contains(opts, "omitempty") {
						s = map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
					}
				}
				props[name] = s
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					required = append(required, name)
				}
			}
		}
		fields(t)
		out := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
