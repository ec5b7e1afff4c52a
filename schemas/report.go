package schemas

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// report turns a jsonschema validation error into leaf errors located in the
// event. root is the value that was validated and prefix its pointer in the
// event ("" for the event, "/data" for its data).
//
// jsonschema nests its errors ("doesn't validate with ...", "if-then failed",
// "allOf failed") around the causes that say what is wrong; only the leaves
// help a sender, so only they are reported. Messages are reworded where the
// library's are vague or would echo a submitted value (which may be personal
// data) back into logs.
func (r *Registry) report(err error, root any, prefix string) []Error {
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		// Not a JSON value at all (a Go type encoding/json never makes), or a
		// loop in a schema: neither points anywhere in the event.
		return []Error{{Location: prefix, Message: err.Error()}}
	}
	var out []Error
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = r.leaf(out, e, root, prefix)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return tidy(out)
}

// tidy removes duplicates and sorts by location, then message.
func tidy(errs []Error) []Error {
	if len(errs) < 2 {
		return errs
	}
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Location != errs[j].Location {
			return errs[i].Location < errs[j].Location
		}
		return errs[i].Message < errs[j].Message
	})
	out := errs[:1]
	for _, e := range errs[1:] {
		if e != out[len(out)-1] {
			out = append(out, e)
		}
	}
	return out
}

// leaf appends the errors that one leaf cause stands for.
func (r *Registry) leaf(out []Error, e *jsonschema.ValidationError, root any, prefix string) []Error {
	tokens := pointerTokens(e.InstanceLocation)
	loc := prefix + joinPointer(tokens)
	kwPath := e.KeywordLocation
	keyword := kwPath[strings.LastIndexByte(kwPath, '/')+1:]
	kwValue, kwParent, found := r.keyword(e.AbsoluteKeywordLocation)

	if strings.Contains(kwPath, "/propertyNames/") {
		// The instance location is the offending member's name.
		name := ""
		if len(tokens) > 0 {
			name = tokens[len(tokens)-1]
		}
		if strings.HasPrefix(e.AbsoluteKeywordLocation, EnvelopeURN+"#") && kwPath == "/propertyNames/pattern" {
			return append(out, Error{loc, fmt.Sprintf("%q is not a CloudEvents attribute lienthong accepts: extension attribute names are 1 to 20 lowercase letters or digits", name)})
		}
		msg := fmt.Sprintf("%q is not allowed as a name here", name)
		if p, ok := kwValue.(string); ok && found && keyword == "pattern" {
			msg += `: does not match pattern "` + p + `"`
		}
		return append(out, Error{loc, msg})
	}

	switch keyword {
	case "required":
		obj, okObj := resolve(root, tokens).(map[string]any)
		names, okNames := kwValue.([]any)
		if !okObj || !okNames {
			break
		}
		n := len(out)
		for _, nm := range names {
			s, _ := nm.(string)
			if _, present := obj[s]; !present {
				out = append(out, Error{loc + "/" + escapeToken(s), fmt.Sprintf("missing property %q", s)})
			}
		}
		if len(out) > n {
			return out
		}
	case "additionalProperties":
		obj, okObj := resolve(root, tokens).(map[string]any)
		if kwValue != false || !okObj || kwParent == nil {
			break
		}
		props, _ := kwParent["properties"].(map[string]any)
		var patterns []*regexp.Regexp
		if pp, ok := kwParent["patternProperties"].(map[string]any); ok {
			for p := range pp {
				if re, err := regexp.Compile(p); err == nil {
					patterns = append(patterns, re)
				}
			}
		}
		n := len(out)
	names:
		for name := range obj {
			if _, ok := props[name]; ok {
				continue
			}
			for _, re := range patterns {
				if re.MatchString(name) {
					continue names
				}
			}
			out = append(out, Error{loc + "/" + escapeToken(name), fmt.Sprintf("property %q is not allowed", name)})
		}
		if len(out) > n {
			return out
		}
	case "pattern":
		if p, ok := kwValue.(string); ok {
			return append(out, Error{loc, `does not match pattern "` + p + `"`})
		}
	case "format":
		if f, ok := kwValue.(string); ok {
			return append(out, Error{loc, formatMessage(f)})
		}
	}
	return append(out, Error{loc, e.Message})
}

func formatMessage(format string) string {
	switch format {
	case "date-time":
		return "is not a valid RFC 3339 date-time with a time zone offset (e.g. 2026-03-03T08:15:00+07:00)"
	case "email":
		return "is not a valid email address"
	case "uri":
		return "is not a valid absolute URI"
	case "uri-reference":
		return "is not a valid URI reference"
	}
	return "is not a valid " + format
}

// keyword finds the value of the keyword at an absolute keyword location
// ("urn:lienthong:schema:defs#/$defs/citizen_id/pattern") in the embedded
// documents, and the schema object that holds it.
func (r *Registry) keyword(abs string) (value any, parent map[string]any, ok bool) {
	base, frag, _ := strings.Cut(abs, "#")
	d, found := r.byURN[base]
	if !found {
		return nil, nil, false
	}
	tokens := pointerTokens(frag)
	if len(tokens) == 0 {
		return nil, nil, false
	}
	parent, _ = resolve(d.parsed, tokens[:len(tokens)-1]).(map[string]any)
	if parent == nil {
		return nil, nil, false
	}
	value, ok = parent[tokens[len(tokens)-1]]
	return value, parent, ok
}

// pointerTokens splits a JSON Pointer in the form jsonschema/v5 writes it (a
// URI fragment: tokens pointer-escaped, then percent-encoded) into plain
// member names and indexes.
func pointerTokens(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range parts {
		if u, err := url.PathUnescape(t); err == nil {
			t = u
		}
		t = strings.ReplaceAll(t, "~1", "/")
		parts[i] = strings.ReplaceAll(t, "~0", "~")
	}
	return parts
}

// escapeToken escapes a member name for an RFC 6901 JSON Pointer.
func escapeToken(t string) string {
	t = strings.ReplaceAll(t, "~", "~0")
	return strings.ReplaceAll(t, "/", "~1")
}

func joinPointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return b.String()
}

// resolve walks plain tokens into a decoded JSON value; nil when absent.
func resolve(v any, tokens []string) any {
	for _, t := range tokens {
		switch x := v.(type) {
		case map[string]any:
			v = x[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
