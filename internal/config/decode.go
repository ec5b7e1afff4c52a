package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a config: where (Path, e.g.
// procedures[0].steps[2].agency, and the 1-based Line of that key or of its
// nearest enclosing key, 0 when unknown) and what.
type Problem struct {
	Path    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Path, p.Message)
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem of a config, in the order of the
// document.
type ValidationError struct {
	Source   string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s)", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// syntaxPath is the Path of a YAML syntax error, which has no key path.
const syntaxPath = "(syntax)"

// parser carries the state of one Parse: where each key was, which paths
// already failed to decode, and the problems found.
type parser struct {
	source string
	env    func(string) (string, bool)
	pos    map[string]pos  // path of every key present -> where
	bad    map[string]bool // paths that failed to decode: no follow-up problems there
	probs  []found
}

type pos struct{ line, col int }

// found is a problem with its column, to sort problems that share a line
// (flow mappings such as `{ id: a, agency: X }`).
type found struct {
	Problem
	col int
}

func (p *parser) err() error {
	// Document order: by position, then by the order found (stable).
	sort.SliceStable(p.probs, func(i, j int) bool {
		a, b := p.probs[i], p.probs[j]
		return a.Line < b.Line || a.Line == b.Line && a.col < b.col
	})
	out := make([]Problem, len(p.probs))
	for i, f := range p.probs {
		out[i] = f.Problem
	}
	return &ValidationError{Source: p.source, Problems: out}
}

// addf records a problem at path unless that path or an enclosing one
// already failed to decode (its value is unknown, so more complaints about it
// would only be noise).
func (p *parser) addf(path, format string, args ...any) {
	for q := path; ; q = parent(q) {
		if p.bad[q] {
			return
		}
		if q == "" {
			break
		}
	}
	at := p.posOf(path)
	p.probs = append(p.probs, found{Problem{Path: path, Line: at.line, Message: fmt.Sprintf(format, args...)}, at.col})
}

func (p *parser) badf(path string, at pos, format string, args ...any) {
	if p.bad == nil {
		p.bad = map[string]bool{}
	}
	p.bad[path] = true
	p.probs = append(p.probs, found{Problem{Path: path, Line: at.line, Message: fmt.Sprintf(format, args...)}, at.col})
}

// present reports whether the document set path.
func (p *parser) present(path string) bool {
	_, ok := p.pos[path]
	return ok
}

// posOf returns where path is, or its nearest enclosing key.
func (p *parser) posOf(path string) pos {
	for q := path; q != ""; q = parent(q) {
		if at, ok := p.pos[q]; ok {
			return at
		}
	}
	return pos{}
}

// parent strips the last element of a path: a.b[2].c -> a.b[2] -> a.b -> a -> "".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// decode fills c from the YAML document, recording the line of every key and
// reporting unknown keys, duplicate keys and values of the wrong type at
// their paths. It returns false when the document is not YAML at all.
func (p *parser) decode(data []byte, c *Config) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := err.Error(), 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		msg = strings.TrimPrefix(msg, "yaml: ")
		p.probs = append(p.probs, found{Problem: Problem{Path: syntaxPath, Line: line, Message: "not valid YAML: " + msg}})
		return false
	}
	if len(doc.Content) == 0 {
		return true // empty document: validation reports what is missing
	}
	p.walk(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	return true
}

var (
	yamlUnmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// walk decodes node n into v (addressable) at path. Structs and slices are
// walked here so that every problem gets its own path; other values are
// decoded by yaml.v3.
func (p *parser) walk(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value: leave the zero value, defaults apply
	}
	pt := v.Addr().Type()
	custom := pt.Implements(yamlUnmarshaler) || pt.Implements(textUnmarshaler)
	switch {
	case !custom && v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.badf(path, at(n), "want a mapping of %s, got %s", strings.Join(yamlFields(v.Type()), ", "), describe(n))
			return
		}
		fields := fieldIndex(v.Type())
		seen := map[string]int{} // key -> line
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			first, dup := seen[k.Value]
			switch {
			case k.Value == "<<":
				p.badf(kp, at(k), "merge keys (<<) are not supported; write the keys out")
			case dup:
				p.badf(kp, at(k), "duplicate key (first on line %d)", first)
			default:
				seen[k.Value] = k.Line
				f, ok := fields[k.Value]
				if !ok {
					p.badf(kp, at(k), "unknown field; known fields here: %s", strings.Join(yamlFields(v.Type()), ", "))
					continue
				}
				p.pos[kp] = at(k)
				p.walk(val, v.Field(f), kp)
			}
		}
	case !custom && v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.badf(path, at(n), "want a list, got %s", describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			ip := index(path, i)
			p.pos[ip] = at(item)
			p.walk(item, v.Index(i), ip)
		}
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			if _, ok := err.(*yaml.TypeError); ok {
				p.badf(path, at(n), "want %s, got %s", kindName(v.Type()), describe(n))
			} else {
				p.badf(path, at(n), "%v", err)
			}
		}
	}
}

// fieldIndex maps the YAML keys of a struct to field indexes.
func fieldIndex(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func yamlFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

func at(n *yaml.Node) pos { return pos{n.Line, n.Column} }

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}
