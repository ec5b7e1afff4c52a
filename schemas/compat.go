package schemas

// Backward compatibility of two JSON Schemas (lienthong schemas compat).
//
// NEW is backward compatible with OLD when every instance OLD accepts, NEW
// accepts: a consumer upgraded to NEW still reads everything written under
// OLD. This is Confluent Schema Registry's BACKWARD level, and the rules
// below are the ones Confluent documents for JSON Schema:
//
//   - Confluent Platform docs, "Schema Evolution and Compatibility"
//     (docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html)
//     and the JSON Schema serdes page it links
//     (.../serdes-develop/serdes-json.html, "JSON Schema compatibility rules");
//   - Robert Yokota, "Understanding JSON Schema Compatibility" (yokota.blog,
//     2021-03-29), which those pages point to for the open, closed and
//     partially open content models.
//
// What they say, and what this file does:
//   - Content models. An object schema is open when additionalProperties is
//     absent or true, closed when it is false, partially open when it is a
//     schema. Adding a property to an open model is breaking (OLD data may
//     already carry that name with any value: PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL)
//     unless its schema accepts anything; adding an optional property to a
//     closed model is fine; removing a property is fine from an open model and
//     breaking from a closed one (PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL);
//     with a partially open model the added or removed property must be
//     covered by the additionalProperties schema. Closing a model
//     (additionalProperties true -> false or a schema) is breaking. The same
//     holds for array items (prefixItems / items).
//   - Narrowing is breaking, widening is not: type (TYPE_NARROWED), enum
//     (ENUM_ARRAY_NARROWED), required added (REQUIRED_ATTRIBUTE_ADDED),
//     maxLength/maxItems/maxProperties/maximum decreased or added,
//     minLength/minItems/minProperties/minimum increased or added, pattern
//     added or changed, multipleOf added or changed to a non-divisor,
//     uniqueItems added, dependencies added, anyOf/oneOf members removed
//     (SUM_TYPE_NARROWED), allOf members added.
//   - The kinds reported reuse Confluent's difference names where one exists.
//
// Where lienthong departs from Confluent, it is stricter, because lienthong
// validates and never fills in defaults:
//   - A property made required is breaking even when it has a default
//     (Confluent lets REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED pass).
//   - format is asserted by lienthong's validator (AssertFormat), so a format
//     added or changed is breaking (FORMAT_ADDED, FORMAT_CHANGED).
//   - const, not, if/then/else, propertyNames, contains and the unevaluated
//     keywords are checked too, conservatively.
//
// Like Confluent, oneOf is treated as a union: a oneOf that gains a member is
// reported compatible although an OLD instance could then match two members.
//
// Method. A schema is a conjunction of its keywords (allOf members and $ref
// targets included), so OLD ⊆ NEW holds when OLD implies each keyword of NEW.
// Each keyword of NEW is checked against what OLD's keywords guarantee,
// recursing into properties and items; a value OLD can only take from a
// finite set (enum, const) is instead validated against NEW. Unions in OLD
// (anyOf, oneOf) are split: every member must be accepted. The check is
// sound and conservative: when it cannot show that an OLD instance passes a
// NEW keyword, it reports that keyword.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Incompatibility is one way in which NEW may refuse an instance that OLD
// accepts.
type Incompatibility struct {
	// Kind is a stable name, Confluent's difference name where there is one:
	// TYPE_NARROWED, REQUIRED_ATTRIBUTE_ADDED, PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL...
	Kind string `json:"kind"`
	// Schema is the JSON Pointer, into NEW, of the keyword that refuses ("" is
	// the root). A keyword reached through a $ref into an embedded lienthong
	// schema is given as <its $id>#<pointer>.
	Schema string `json:"schema"`
	// Instance is the JSON Pointer of the refused value in an instance; "*"
	// stands for any array item or any property name not listed.
	Instance string `json:"instance"`
	// Reason says what OLD allows that NEW refuses.
	Reason string `json:"reason"`
}

func (i Incompatibility) String() string {
	s, in := i.Schema, i.Instance
	if s == "" {
		s = "/"
	}
	if in == "" {
		in = "/"
	}
	return fmt.Sprintf("%s (instance %s): %s: %s", s, in, i.Kind, i.Reason)
}

// ErrNotSchema is wrapped by Compatible's error when an argument is not a
// usable JSON Schema 2020-12 document.
var ErrNotSchema = errors.New("not a JSON Schema 2020-12 document")

// Compatible reports whether newSchema is backward compatible with
// oldSchema: whether every instance oldSchema accepts, newSchema accepts
// (Confluent's BACKWARD level). Both are JSON Schema 2020-12 documents; a
// $ref may point inside the same document or to an embedded lienthong schema
// (urn:lienthong:schema:..., urn:lienthong:form:...), never elsewhere.
//
// It returns the breaking changes found, none when compatible. The error is
// for arguments that cannot be compared (not JSON, not a schema, a $ref to
// something not embedded) and wraps ErrNotSchema.
func Compatible(oldSchema, newSchema []byte) ([]Incompatibility, error) {
	return compatible(oldSchema, newSchema, true)
}

func compatible(oldSchema, newSchema []byte, shortcut bool) ([]Incompatibility, error) {
	o, err := loadCompatDoc("old", oldSchema)
	if err != nil {
		return nil, fmt.Errorf("OLD: %w", err)
	}
	n, err := loadCompatDoc("new", newSchema)
	if err != nil {
		return nil, fmt.Errorf("NEW: %w", err)
	}
	if shortcut && cpCanon(o.root) == cpCanon(n.root) {
		return nil, nil
	}
	c := &cpChecker{
		inProgress: map[string]bool{},
		compiled:   map[string]*jsonschema.Schema{},
		regexps:    map[string]*regexp.Regexp{},
	}
	out := c.implies([]cpNode{o.rootNode()}, n.rootNode(), "")
	return tidyIncompat(out), nil
}

// tidyIncompat removes duplicates and sorts by schema location.
func tidyIncompat(in []Incompatibility) []Incompatibility {
	seen := map[Incompatibility]bool{}
	var out []Incompatibility
	for _, i := range in {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Schema != out[b].Schema {
			return out[a].Schema < out[b].Schema
		}
		return out[a].Instance < out[b].Instance
	})
	return out
}

// compatDoc is one schema document: OLD, NEW, or an embedded schema.
type compatDoc struct {
	name     string // "old", "new" or the embedded file
	url      string // the URL it was added to its compiler under
	base     string // its $id, else url
	raw      []byte
	root     any
	ids      map[string]string // absolute URI (no fragment) -> pointer in this document
	anchors  map[string]string // absolute URI#anchor -> pointer
	isNew    bool
	compiler *jsonschema.Compiler // OLD's or NEW's own; nil for embedded ones (see cpChecker.embedded)
}

func (d *compatDoc) rootNode() cpNode { return cpNode{doc: d, ptr: "", base: d.base, v: d.root} }

// cpEmbeddedDocs indexes every embedded schema file by its $id, for $refs of
// the compared documents.
func cpEmbeddedDocs() map[string]*compatDoc {
	cpEmbeddedOnce.Do(func() { cpEmbedded = loadEmbeddedCompat() })
	return cpEmbedded
}

var (
	cpEmbeddedOnce sync.Once
	cpEmbedded     map[string]*compatDoc
)

func loadEmbeddedCompat() map[string]*compatDoc {
	out := map[string]*compatDoc{}
	_ = fs.WalkDir(embedded, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		raw, err := fs.ReadFile(embedded, p)
		if err != nil {
			return nil
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return nil
		}
		m, _ := v.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return nil
		}
		d := &compatDoc{name: "schemas/" + p, url: id, base: id, raw: raw, root: v}
		d.index()
		out[id] = d
		return nil
	})
	return out
}

func newCompatCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		if d, ok := cpEmbeddedDocs()[u]; ok {
			return io.NopCloser(bytes.NewReader(d.raw)), nil
		}
		return nil, fmt.Errorf("%s is not an embedded lienthong schema; refusing to load it", u)
	}
	return c
}

func loadCompatDoc(name string, raw []byte) (*compatDoc, error) {
	v, err := cpDecodeStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrNotSchema, err)
	}
	switch m := v.(type) {
	case bool:
	case map[string]any:
		if s, ok := m["$schema"]; ok {
			if str, _ := s.(string); strings.TrimSuffix(str, "#") != draft2020 {
				return nil, fmt.Errorf("%w: $schema is %v; only %s is compared", ErrNotSchema, s, draft2020)
			}
		}
	default:
		return nil, fmt.Errorf("%w: a schema is a JSON object or a boolean", ErrNotSchema)
	}
	d := &compatDoc{name: name, url: "lienthong-compat:///" + name + ".json", raw: raw, root: v, isNew: name == "new"}
	d.base = d.url
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["$id"].(string); ok {
			if u, err := url.Parse(id); err == nil && u.IsAbs() {
				u.Fragment = ""
				d.base = u.String()
			}
		}
	}
	d.compiler = newCompatCompiler()
	if err := d.compiler.AddResource(d.url, bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	if _, err := d.compiler.Compile(d.url); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	d.index()
	return d, nil
}

// index records the $id and $anchor of every subschema.
func (d *compatDoc) index() {
	d.ids = map[string]string{}
	d.anchors = map[string]string{}
	d.ids[d.base] = ""
	var walk func(v any, ptr, base string)
	walk = func(v any, ptr, base string) {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["$id"].(string); ok && ptr != "" {
				if abs, err := cpResolveURI(base, id); err == nil {
					base, _, _ = strings.Cut(abs, "#")
					if _, dup := d.ids[base]; !dup {
						d.ids[base] = ptr
					}
				}
			}
			for _, k := range []string{"$anchor", "$dynamicAnchor"} {
				if a, ok := v[k].(string); ok {
					d.anchors[base+"#"+a] = ptr
				}
			}
			for k, c := range v {
				switch k {
				case "enum", "const", "default", "examples":
					continue
				}
				walk(c, ptr+"/"+escapeToken(k), base)
			}
		case []any:
			for i, c := range v {
				walk(c, ptr+"/"+strconv.Itoa(i), base)
			}
		}
	}
	walk(d.root, "", d.base)
}

// cpDecodeStrict decodes one JSON value and nothing after it.
func cpDecodeStrict(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func cpResolveURI(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}

func cpUnescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// cpNode is one subschema: its document, where it is, its base URI, its value
// (a bool or a map). neg marks the negation of that subschema (the "else"
// side of an if), which only the finite-value check and if-matching use.
type cpNode struct {
	onlyType int // a made-up {"type": ...} node (OLD split by type); no document
	doc      *compatDoc
	ptr      string
	base     string
	v        any
	neg      bool
	noUnion  bool // its anyOf/oneOf was split already
}

func (n cpNode) key() string {
	if n.onlyType != 0 {
		return "type:" + strconv.Itoa(n.onlyType)
	}
	k := n.doc.name + "#" + n.ptr
	if n.neg {
		k = "!" + k
	}
	if n.noUnion {
		k += "~"
	}
	return k
}

func (n cpNode) m() map[string]any { m, _ := n.v.(map[string]any); return m }

func (n cpNode) has(kw string) bool { _, ok := n.m()[kw]; return ok }

// child returns the subschema at the keyword path below n.
func (n cpNode) child(tokens ...string) (cpNode, bool) {
	v := n.v
	ptr := n.ptr
	base := n.base
	for _, t := range tokens {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[t]
			if !ok {
				return cpNode{}, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return cpNode{}, false
			}
			v = c[i]
		default:
			return cpNode{}, false
		}
		ptr += "/" + escapeToken(t)
		// A schema with an $id on the way sets the base of what is below.
		if m, ok := v.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok {
				if abs, err := cpResolveURI(base, id); err == nil {
					base, _, _ = strings.Cut(abs, "#")
				}
			}
		}
	}
	switch v.(type) {
	case bool, map[string]any:
	default:
		return cpNode{}, false
	}
	return cpNode{doc: n.doc, ptr: ptr, base: base, v: v}, true
}

// where is the location of keyword kw of n, for reports.
func (n cpNode) where(kw ...string) string {
	p := n.ptr
	for _, k := range kw {
		p += "/" + escapeToken(k)
	}
	if n.doc.isNew {
		return p
	}
	return n.doc.base + "#" + p
}

// resolve follows a $ref (or $dynamicRef, statically) from n.
func (c *cpChecker) resolve(n cpNode, ref string) (cpNode, error) {
	abs, err := cpResolveURI(n.base, ref)
	if err != nil {
		return cpNode{}, err
	}
	uri, frag, _ := strings.Cut(abs, "#")
	doc := n.doc
	ptr, ok := doc.ids[uri]
	if !ok {
		d, found := cpEmbeddedDocs()[uri]
		if !found {
			for _, e := range cpEmbeddedDocs() {
				if p, ok := e.ids[uri]; ok {
					d, ptr, found = e, p, true
					break
				}
			}
		} else {
			ptr = d.ids[uri]
		}
		if !found {
			return cpNode{}, fmt.Errorf("$ref %q: %s is neither in the document nor embedded", ref, uri)
		}
		doc = d
	}
	if frag != "" && !strings.HasPrefix(frag, "/") {
		p, ok := doc.anchors[uri+"#"+frag]
		if !ok {
			return cpNode{}, fmt.Errorf("$ref %q: no anchor %q", ref, frag)
		}
		ptr, frag = p, ""
	}
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	// Walk from the root so that nested $ids set the base.
	cur := cpNode{doc: doc, ptr: "", base: doc.base, v: doc.root}
	if full := ptr + frag; full != "" {
		var toks []string
		for _, t := range strings.Split(full[1:], "/") {
			toks = append(toks, cpUnescape(t))
		}
		nx, ok := cur.child(toks...)
		if !ok {
			return cpNode{}, fmt.Errorf("$ref %q: no schema at %s", ref, full)
		}
		cur = nx
	}
	return cur, nil
}

type cpChecker struct {
	// embedded compiles subschemas of embedded documents for this check
	// only: a jsonschema.Compiler is not safe for concurrent use.
	embedded   *jsonschema.Compiler
	inProgress map[string]bool
	depth      int
	compiled   map[string]*jsonschema.Schema
	regexps    map[string]*regexp.Regexp
}

// annotations and keywords that assert nothing about an instance.
var cpAnnotations = map[string]bool{
	"$schema": true, "$id": true, "$anchor": true, "$dynamicAnchor": true, "$defs": true, "definitions": true,
	"$comment": true, "$vocabulary": true, "title": true, "description": true, "default": true, "examples": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "contentEncoding": true, "contentMediaType": true,
	"contentSchema": true, "then": true, "else": true, "minContains": true, "maxContains": true,
}

// known assertion keywords of 2020-12; any other keyword asserts nothing.
var cpAssertions = map[string]bool{
	"$ref": true, "$dynamicRef": true, "allOf": true, "anyOf": true, "oneOf": true, "not": true, "if": true,
	"dependentSchemas": true, "prefixItems": true, "items": true, "contains": true, "properties": true,
	"patternProperties": true, "additionalProperties": true, "propertyNames": true, "unevaluatedItems": true,
	"unevaluatedProperties": true, "type": true, "enum": true, "const": true, "multipleOf": true, "maximum": true,
	"exclusiveMaximum": true, "minimum": true, "exclusiveMinimum": true, "maxLength": true, "minLength": true,
	"pattern": true, "maxItems": true, "minItems": true, "uniqueItems": true, "maxProperties": true,
	"minProperties": true, "required": true, "dependentRequired": true, "format": true,
}

// cpTrivial reports whether n accepts every instance (true, {} or only
// annotations).
func cpTrivial(n cpNode) bool {
	if n.neg {
		return false
	}
	switch v := n.v.(type) {
	case bool:
		return v
	case map[string]any:
		for k, x := range v {
			if !cpAssertions[k] {
				continue
			}
			switch k {
			case "allOf":
				if a, ok := x.([]any); ok && len(a) == 0 {
					continue
				}
			case "required":
				if a, ok := x.([]any); ok && len(a) == 0 {
					continue
				}
			case "minLength", "minItems", "minProperties":
				if r, ok := cpRat(x); ok && r.Sign() <= 0 {
					continue
				}
			}
			return false
		}
		return true
	}
	return false
}

func cpIsFalse(n cpNode) bool {
	b, ok := n.v.(bool)
	return ok && !b && !n.neg
}

// flatten expands allOf members and $ref targets, and adds the then or else
// of an if that another conjunct decides, into the list of schemas an
// instance satisfies at once.
func (c *cpChecker) flatten(ns []cpNode) ([]cpNode, []Incompatibility) {
	var out []cpNode
	var errs []Incompatibility
	seen := map[string]bool{}
	var add func(n cpNode)
	add = func(n cpNode) {
		if seen[n.key()] {
			return
		}
		seen[n.key()] = true
		out = append(out, n)
		if n.neg {
			return
		}
		m := n.m()
		if ref, ok := m["$ref"].(string); ok {
			t, err := c.resolve(n, ref)
			if err != nil {
				errs = append(errs, Incompatibility{Kind: "NOT_ANALYSED", Schema: n.where("$ref"), Reason: err.Error()})
			} else {
				add(t)
			}
		}
		if ref, ok := m["$dynamicRef"].(string); ok {
			if t, err := c.resolve(n, ref); err == nil {
				add(t)
			}
		}
		if all, ok := m["allOf"].([]any); ok {
			for i := range all {
				if ch, ok := n.child("allOf", strconv.Itoa(i)); ok {
					add(ch)
				}
			}
		}
	}
	for _, n := range ns {
		add(n)
	}
	// An if that another conjunct decides (the same schema, or its
	// negation) adds its then or its else.
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(out); i++ {
			n := out[i]
			if n.neg {
				continue
			}
			ifn, ok := n.child("if")
			if !ok || cpHasRef(ifn.v) {
				continue
			}
			cv := cpCanon(ifn.v)
			for j := 0; j < len(out); j++ {
				o := out[j]
				if o.onlyType != 0 || cpCanon(o.v) != cv {
					continue
				}
				branch := "then"
				if o.neg {
					branch = "else"
				}
				if b, ok := n.child(branch); ok && !seen[b.key()] {
					add(b)
					changed = true
				}
			}
		}
	}
	return out, errs
}

func cpHasRef(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "$ref" || k == "$dynamicRef" || cpHasRef(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if cpHasRef(x) {
				return true
			}
		}
	}
	return false
}

// implies returns the ways in which an instance satisfying every schema of
// old may fail nw. inst is the instance location.
func (c *cpChecker) implies(old []cpNode, nw cpNode, inst string) []Incompatibility {
	if cpTrivial(nw) {
		return nil
	}
	if len(old) == 1 && !old[0].neg && !old[0].noUnion && old[0].doc == nw.doc && old[0].ptr == nw.ptr {
		return nil // the same subschema
	}
	keys := make([]string, 0, len(old))
	for _, o := range old {
		keys = append(keys, o.key())
	}
	sort.Strings(keys)
	k := strings.Join(keys, ",") + "|" + nw.key()
	if c.inProgress[k] {
		return nil // a recursive schema: assume what is being shown
	}
	if c.depth > 64 {
		return []Incompatibility{{Kind: "NOT_ANALYSED", Schema: nw.where(), Instance: inst, Reason: "schemas nest too deep to compare"}}
	}
	c.inProgress[k] = true
	c.depth++
	defer func() { delete(c.inProgress, k); c.depth-- }()

	oldF, errs := c.flatten(old)
	for _, o := range oldF {
		if cpIsFalse(o) {
			return nil // OLD accepts nothing here
		}
	}
	if vals, ok := cpFiniteValues(oldF); ok {
		return append(errs, c.checkValues(old, nw, vals, inst)...)
	}
	if bits, declared := cpOldTypes(oldF); declared && bits&^(jtNull|jtBool) == 0 {
		// Only null and booleans: three values at most, check them all.
		var vals []any
		if bits&jtNull != 0 {
			vals = append(vals, nil)
		}
		if bits&jtBool != 0 {
			vals = append(vals, true, false)
		}
		return append(errs, c.checkValues(old, nw, vals, inst)...)
	}
	newF, nerrs := c.flatten([]cpNode{nw})
	errs = append(errs, nerrs...)
	direct := errs
	for _, n := range newF {
		direct = append(direct, c.direct(oldF, n, inst)...)
	}
	if len(direct) == 0 {
		return nil
	}
	// Split a union of OLD: each member must be accepted on its own.
	for i, o := range oldF {
		if o.neg || o.noUnion {
			continue
		}
		for _, kw := range []string{"anyOf", "oneOf"} {
			members, ok := o.m()[kw].([]any)
			if !ok || len(members) == 0 {
				continue
			}
			rest := append([]cpNode(nil), oldF[:i]...)
			split := o
			split.noUnion = true
			rest = append(rest, split)
			rest = append(rest, oldF[i+1:]...)
			var out []Incompatibility
			for j := range members {
				mem, ok := o.child(kw, strconv.Itoa(j))
				if !ok {
					continue
				}
				sub := c.implies(append(append([]cpNode(nil), rest...), mem), nw, inst)
				for _, s := range sub {
					s.Reason = fmt.Sprintf("OLD's %s %s: %s", kw, o.doc.displayPtr(o.ptr+"/"+kw+"/"+strconv.Itoa(j)), s.Reason)
					out = append(out, s)
				}
			}
			return out
		}
	}
	return direct
}

func (d *compatDoc) displayPtr(p string) string {
	if d.name == "old" || d.name == "new" {
		if p == "" {
			return "/"
		}
		return p
	}
	return d.base + "#" + p
}

// cpFiniteValues returns the values OLD can take when a conjunct limits them
// with enum or const.
func cpFiniteValues(oldF []cpNode) ([]any, bool) {
	var vals []any
	found := false
	for _, o := range oldF {
		if o.neg {
			continue
		}
		var these []any
		m := o.m()
		if cv, ok := m["const"]; ok {
			these = []any{cv}
		} else if ev, ok := m["enum"].([]any); ok {
			these = ev
		} else {
			continue
		}
		if !found {
			vals, found = append([]any(nil), these...), true
			continue
		}
		keep := map[string]bool{}
		for _, t := range these {
			keep[cpCanon(t)] = true
		}
		var next []any
		for _, v := range vals {
			if keep[cpCanon(v)] {
				next = append(next, v)
			}
		}
		vals = next
	}
	return vals, found
}

// checkValues validates each value OLD can take against NEW.
func (c *cpChecker) checkValues(old []cpNode, nw cpNode, vals []any, inst string) []Incompatibility {
	var out []Incompatibility
	for _, v := range vals {
		okOld := true
		for _, o := range old {
			ok, err := c.accepts(o, v)
			if err == nil && !ok {
				okOld = false
				break
			}
		}
		if !okOld {
			continue
		}
		ok, err := c.accepts(nw, v)
		if ok {
			continue
		}
		inc := Incompatibility{Kind: "ENUM_ARRAY_NARROWED", Schema: nw.where(), Instance: inst,
			Reason: fmt.Sprintf("OLD accepts %s, NEW refuses it", cpCanon(v))}
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			leaf := ve
			for len(leaf.Causes) > 0 {
				leaf = leaf.Causes[0]
			}
			inc.Schema = nw.doc.shorten(leaf.AbsoluteKeywordLocation)
			kw := leaf.KeywordLocation[strings.LastIndex(leaf.KeywordLocation, "/")+1:]
			inc.Kind = cpValueKind(kw)
			inc.Reason += ": " + leaf.Message
			if leaf.InstanceLocation != "" {
				inc.Instance = inst + leaf.InstanceLocation
			}
		} else if err != nil {
			inc.Kind = "NOT_ANALYSED"
			inc.Reason += ": " + err.Error()
		}
		out = append(out, inc)
	}
	return out
}

func cpValueKind(kw string) string {
	switch kw {
	case "enum":
		return "ENUM_ARRAY_NARROWED"
	case "const":
		return "CONST_CHANGED"
	case "type":
		return "TYPE_NARROWED"
	case "pattern":
		return "PATTERN_CHANGED"
	case "format":
		return "FORMAT_CHANGED"
	case "false":
		return "NOTHING_ACCEPTED"
	}
	return strings.ToUpper(cpSnake(kw)) + "_NARROWED"
}

func cpSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shorten turns an absolute keyword location into a report location.
func (d *compatDoc) shorten(abs string) string {
	for _, pre := range []string{d.base + "#", d.url + "#"} {
		if d.isNew && strings.HasPrefix(abs, pre) {
			return strings.TrimPrefix(abs, pre)
		}
	}
	return abs
}

// accepts validates v against n (compiled once).
func (c *cpChecker) accepts(n cpNode, v any) (bool, error) {
	if n.onlyType != 0 {
		return cpValueBits(v)&n.onlyType != 0, nil
	}
	if b, ok := n.v.(bool); ok {
		return b != n.neg, nil
	}
	k := n.doc.name + "#" + n.ptr
	s, ok := c.compiled[k]
	if !ok {
		comp := n.doc.compiler
		if comp == nil {
			if c.embedded == nil {
				c.embedded = newCompatCompiler()
			}
			comp = c.embedded
		}
		var err error
		s, err = comp.Compile(n.doc.url + "#" + n.ptr)
		if err != nil {
			return false, err
		}
		c.compiled[k] = s
	}
	err := s.Validate(v)
	if n.neg {
		return err != nil, nil
	}
	return err == nil, err
}

// JSON types as bits; number means a non-integer number.
const (
	jtNull = 1 << iota
	jtBool
	jtObject
	jtArray
	jtString
	jtInteger
	jtNumber
	jtAll = jtNull | jtBool | jtObject | jtArray | jtString | jtInteger | jtNumber
)

func cpTypeBits(v any) int {
	names := []string{}
	switch t := v.(type) {
	case string:
		names = append(names, t)
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				names = append(names, s)
			}
		}
	}
	bits := 0
	for _, s := range names {
		switch s {
		case "null":
			bits |= jtNull
		case "boolean":
			bits |= jtBool
		case "object":
			bits |= jtObject
		case "array":
			bits |= jtArray
		case "string":
			bits |= jtString
		case "integer":
			bits |= jtInteger
		case "number":
			bits |= jtInteger | jtNumber
		}
	}
	return bits
}

// cpValueBits is the JSON type of a decoded value.
func cpValueBits(v any) int {
	switch x := v.(type) {
	case nil:
		return jtNull
	case bool:
		return jtBool
	case map[string]any:
		return jtObject
	case []any:
		return jtArray
	case string:
		return jtString
	case json.Number:
		if r, ok := cpRat(x); ok && r.IsInt() {
			return jtInteger
		}
		return jtNumber
	case float64:
		if x == float64(int64(x)) {
			return jtInteger
		}
		return jtNumber
	}
	return 0
}

// cpTypeGroups splits type bits into the groups a "type" keyword can name.
func cpTypeGroups(bits int) []cpNode {
	var out []cpNode
	add := func(b int, name string) {
		out = append(out, cpNode{onlyType: b, v: map[string]any{"type": name}})
	}
	for _, g := range []struct {
		b    int
		name string
	}{{jtNull, "null"}, {jtBool, "boolean"}, {jtObject, "object"}, {jtArray, "array"}, {jtString, "string"}} {
		if bits&g.b != 0 {
			add(g.b, g.name)
		}
	}
	switch {
	case bits&jtNumber != 0:
		add(jtInteger|jtNumber, "number")
	case bits&jtInteger != 0:
		add(jtInteger, "integer")
	}
	return out
}

func cpTypeNames(bits int) string {
	var out []string
	for _, t := range []struct {
		b int
		s string
	}{{jtNull, "null"}, {jtBool, "boolean"}, {jtObject, "object"}, {jtArray, "array"}, {jtString, "string"}, {jtInteger, "integer"}, {jtNumber, "non-integer number"}} {
		if bits&t.b != 0 {
			out = append(out, t.s)
		}
	}
	return strings.Join(out, ", ")
}

// cpOldTypes is the set of JSON types OLD admits.
func cpOldTypes(oldF []cpNode) (bits int, declared bool) {
	bits = jtAll
	for _, o := range oldF {
		if o.neg {
			continue
		}
		if t, ok := o.m()["type"]; ok {
			bits &= cpTypeBits(t)
			declared = true
		}
	}
	return bits, declared
}

func cpRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		return r, ok
	case float64:
		return new(big.Rat).SetFloat64(x), true
	}
	return nil, false
}

// cpCanon is a canonical JSON text of a decoded value: sorted keys, numbers
// by value.
func cpCanon(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				walk(x[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(e)
			}
			b.WriteByte(']')
		case json.Number:
			if r, ok := cpRat(x); ok {
				b.WriteString(r.RatString())
			} else {
				b.WriteString(string(x))
			}
		default:
			j, _ := json.Marshal(x)
			b.Write(j)
		}
	}
	walk(v)
	return b.String()
}

func (c *cpChecker) re(p string) *regexp.Regexp {
	if r, ok := c.regexps[p]; ok {
		return r
	}
	r, err := regexp.Compile(p)
	if err != nil {
		r = nil
	}
	c.regexps[p] = r
	return r
}

// keyword order in reports (then alphabetical).
var cpKeywordOrder = []string{"type", "enum", "const", "required", "properties", "patternProperties", "additionalProperties",
	"propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
	"prefixItems", "items", "contains", "minItems", "maxItems", "uniqueItems", "unevaluatedItems",
	"minLength", "maxLength", "pattern", "format",
	"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
	"anyOf", "oneOf", "not", "if", "$dynamicRef"}

// direct checks each keyword of the NEW conjunct n against OLD.
func (c *cpChecker) direct(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	if n.neg {
		// A negated NEW conjunct is never made (if/else builds positive ones).
		return nil
	}
	if b, ok := n.v.(bool); ok {
		if b {
			return nil
		}
		return []Incompatibility{{Kind: "NOTHING_ACCEPTED", Schema: n.where(), Instance: inst, Reason: "NEW accepts nothing here (false) where OLD accepts values"}}
	}
	m := n.m()
	bits, declared := cpOldTypes(oldF)
	var out []Incompatibility
	add := func(kind, kw, instance, format string, args ...any) {
		out = append(out, Incompatibility{Kind: kind, Schema: n.where(kw), Instance: instance, Reason: fmt.Sprintf(format, args...)})
	}
	for _, kw := range cpKeywordOrder {
		val, ok := m[kw]
		if !ok {
			continue
		}
		switch kw {
		case "type":
			nb := cpTypeBits(val)
			if extra := bits &^ nb; extra != 0 {
				if declared {
					add("TYPE_NARROWED", kw, inst, "OLD accepts %s; NEW does not", cpTypeNames(extra))
				} else {
					add("TYPE_ADDED", kw, inst, "OLD accepts any type; NEW only %s", cpTypeNames(nb))
				}
			}
		case "enum":
			add("ENUM_ADDED", kw, inst, "OLD accepts any value here; NEW only its enum")
		case "const":
			add("CONST_ADDED", kw, inst, "OLD accepts any value here; NEW only %s", cpCanon(val))
		case "required":
			if bits&jtObject == 0 {
				continue
			}
			req := map[string]bool{}
			props := map[string]bool{}
			for _, o := range oldF {
				if o.neg {
					continue
				}
				for _, r := range cpStrings(o.m()["required"]) {
					req[r] = true
				}
				if p, ok := o.m()["properties"].(map[string]any); ok {
					for k := range p {
						props[k] = true
					}
				}
			}
			for _, r := range cpStrings(val) {
				if req[r] {
					continue
				}
				if props[r] {
					add("REQUIRED_ATTRIBUTE_ADDED", kw, inst+"/"+escapeToken(r), "%q was optional in OLD and is required in NEW", r)
				} else {
					add("REQUIRED_PROPERTY_ADDED", kw, inst+"/"+escapeToken(r), "NEW requires %q, which OLD did not declare", r)
				}
			}
		case "properties":
			if bits&jtObject == 0 {
				continue
			}
			out = append(out, c.checkProperties(oldF, n, inst)...)
		case "patternProperties":
			if bits&jtObject == 0 {
				continue
			}
			out = append(out, c.checkPatternProperties(oldF, n, inst)...)
		case "additionalProperties":
			if bits&jtObject == 0 {
				continue
			}
			ap, _ := n.child("additionalProperties")
			covered := func(name string) bool { return c.coveredBy([]cpNode{n}, name) }
			out = append(out, c.checkAdditional(oldF, n, ap, covered, cpPatternKeys(n), inst, "additionalProperties")...)
		case "unevaluatedProperties":
			if bits&jtObject == 0 {
				continue
			}
			up, _ := n.child("unevaluatedProperties")
			if cpTrivial(up) {
				continue
			}
			newF, _ := c.flatten([]cpNode{n})
			if cpHasAny(newF, "anyOf", "oneOf", "if", "dependentSchemas") {
				out = append(out, c.sameKeyword(oldF, n, kw, inst)...)
				continue
			}
			covered := func(name string) bool { return c.coveredBy(newF, name) }
			var pats []string
			for _, f := range newF {
				pats = append(pats, cpPatternKeys(f)...)
			}
			out = append(out, c.checkAdditional(oldF, n, up, covered, pats, inst, "unevaluatedProperties")...)
		case "propertyNames":
			if bits&jtObject == 0 {
				continue
			}
			out = append(out, c.checkPropertyNames(oldF, n, inst)...)
		case "minProperties", "maxProperties", "minItems", "maxItems", "minLength", "maxLength":
			need := map[string]int{"minProperties": jtObject, "maxProperties": jtObject, "minItems": jtArray, "maxItems": jtArray, "minLength": jtString, "maxLength": jtString}[kw]
			if bits&need == 0 {
				continue
			}
			out = append(out, c.checkBound(oldF, n, kw, inst)...)
		case "dependentRequired":
			if bits&jtObject == 0 {
				continue
			}
			out = append(out, c.checkDependentRequired(oldF, n, inst)...)
		case "dependentSchemas":
			if bits&jtObject == 0 {
				continue
			}
			out = append(out, c.checkDependentSchemas(oldF, n, inst)...)
		case "prefixItems":
			if bits&jtArray == 0 {
				continue
			}
			out = append(out, c.checkItems(oldF, n, inst)...)
		case "items":
			if bits&jtArray == 0 || n.has("prefixItems") {
				continue // checked with prefixItems
			}
			out = append(out, c.checkItems(oldF, n, inst)...)
		case "contains":
			if bits&jtArray == 0 {
				continue
			}
			out = append(out, c.checkContains(oldF, n, inst)...)
		case "uniqueItems":
			if bits&jtArray == 0 || val != true {
				continue
			}
			if cpAnyTrue(oldF, "uniqueItems") {
				continue
			}
			if hi, ok := c.upper(oldF, "maxItems"); ok && hi.Cmp(big.NewRat(1, 1)) <= 0 {
				continue
			}
			add("UNIQUE_ITEMS_ADDED", kw, inst, "NEW refuses arrays with repeated items, which OLD accepts")
		case "unevaluatedItems":
			if bits&jtArray == 0 {
				continue
			}
			out = append(out, c.checkUnevaluatedItems(oldF, n, inst)...)
		case "pattern", "format":
			if bits&jtString == 0 {
				continue
			}
			s, _ := val.(string)
			same := false
			var was []string
			for _, o := range oldF {
				if x, ok := o.m()[kw].(string); ok && !o.neg {
					was = append(was, x)
					same = same || x == s
				}
			}
			if same {
				continue
			}
			up := strings.ToUpper(kw)
			if len(was) == 0 {
				add(up+"_ADDED", kw, inst, "NEW adds %s %q; OLD accepts strings without it", kw, s)
			} else {
				add(up+"_CHANGED", kw, inst, "%s changed from %q to %q: strings OLD accepts may not match", kw, was[0], s)
			}
		case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum":
			if bits&(jtInteger|jtNumber) == 0 {
				continue
			}
			out = append(out, c.checkNumberBound(oldF, n, kw, inst)...)
		case "multipleOf":
			if bits&(jtInteger|jtNumber) == 0 {
				continue
			}
			d, ok := cpRat(val)
			if !ok || d.Sign() <= 0 {
				continue
			}
			if d.IsInt() && d.Num().Cmp(big.NewInt(1)) == 0 && bits&jtNumber == 0 {
				continue // every integer is a multiple of 1
			}
			good := false
			for _, o := range oldF {
				if om, ok := cpRat(o.m()["multipleOf"]); ok && !o.neg {
					q := new(big.Rat).Quo(om, d)
					good = good || q.IsInt()
				}
			}
			if !good {
				add("MULTIPLE_OF_CHANGED", kw, inst, "NEW requires multiples of %s; OLD does not guarantee it", d.RatString())
			}
		case "anyOf", "oneOf":
			out = append(out, c.checkUnion(oldF, n, kw, inst)...)
		case "not":
			out = append(out, c.checkNot(oldF, n, inst, bits)...)
		case "if":
			out = append(out, c.checkIf(oldF, n, inst)...)
		case "$dynamicRef":
			// Resolved statically by flatten; nothing more to check.
		}
	}
	return out
}

func cpStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func cpAnyTrue(ns []cpNode, kw string) bool {
	for _, o := range ns {
		if !o.neg && o.m()[kw] == true {
			return true
		}
	}
	return false
}

func cpHasAny(ns []cpNode, kws ...string) bool {
	for _, o := range ns {
		for _, k := range kws {
			if !o.neg && o.has(k) {
				return true
			}
		}
	}
	return false
}

func cpPatternKeys(n cpNode) []string {
	p, _ := n.m()["patternProperties"].(map[string]any)
	out := make([]string, 0, len(p))
	for k := range p {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cpSortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// coveredBy reports whether name is declared in properties or matched by a
// patternProperties of one of ns (so that additionalProperties does not
// apply to it).
func (c *cpChecker) coveredBy(ns []cpNode, name string) bool {
	for _, n := range ns {
		if p, ok := n.m()["properties"].(map[string]any); ok {
			if _, ok := p[name]; ok {
				return true
			}
		}
		for _, pat := range cpPatternKeys(n) {
			if r := c.re(pat); r == nil || r.MatchString(name) {
				return true
			}
		}
	}
	return false
}

// propConstraints are the schemas OLD applies to the value of property
// name; declared tells whether an OLD properties names it.
func (c *cpChecker) propConstraints(oldF []cpNode, name string) (out []cpNode, declared bool) {
	for _, o := range oldF {
		if o.neg {
			continue
		}
		if ch, ok := o.child("properties", name); ok {
			out = append(out, ch)
			declared = true
			continue
		}
		matched := false
		for _, pat := range cpPatternKeys(o) {
			if r := c.re(pat); r != nil && r.MatchString(name) {
				if ch, ok := o.child("patternProperties", pat); ok {
					out = append(out, ch)
					matched = true
				}
			}
		}
		if !matched {
			if ch, ok := o.child("additionalProperties"); ok {
				out = append(out, ch)
			}
		}
	}
	if len(out) == 0 {
		out = cpUnevaluated(oldF)
	}
	return out, declared
}

// cpUnevaluated returns OLD's unevaluatedProperties schemas for a name that
// no conjunct declares or matches, when they surely apply to it: no
// conjunct has additionalProperties or an applicator (anyOf, oneOf, if,
// dependentSchemas) that could evaluate it. Otherwise none: ignoring an
// OLD constraint only makes the check stricter.
func cpUnevaluated(oldF []cpNode) []cpNode {
	if cpHasAny(oldF, "additionalProperties", "anyOf", "oneOf", "if", "dependentSchemas") {
		return nil
	}
	var out []cpNode
	for _, o := range oldF {
		if ch, ok := o.child("unevaluatedProperties"); ok && !o.neg {
			out = append(out, ch)
		}
	}
	return out
}

func (c *cpChecker) checkProperties(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	props, _ := n.m()["properties"].(map[string]any)
	var out []Incompatibility
	for _, name := range cpSortedKeys(props) {
		np, _ := n.child("properties", name)
		if cpTrivial(np) {
			continue
		}
		at := inst + "/" + escapeToken(name)
		cons, declared := c.propConstraints(oldF, name)
		if declared {
			out = append(out, c.implies(cons, np, at)...)
			continue
		}
		if len(cons) == 0 {
			out = append(out, Incompatibility{Kind: "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", Schema: np.where(), Instance: at,
				Reason: fmt.Sprintf("OLD's content model is open: its instances may carry %q with any value, which NEW constrains", name)})
			continue
		}
		sub := c.implies(cons, np, at)
		if len(sub) > 0 {
			out = append(out, Incompatibility{Kind: "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", Schema: np.where(), Instance: at,
				Reason: fmt.Sprintf("OLD's content model is partially open: %q may carry what OLD's additionalProperties allows, and NEW refuses some of it (%s)", name, sub[0].Reason)})
		}
	}
	return out
}

// cpOldDeclared lists every property name OLD's properties declare.
func cpOldDeclared(oldF []cpNode) []string {
	set := map[string]bool{}
	for _, o := range oldF {
		if o.neg {
			continue
		}
		if p, ok := o.m()["properties"].(map[string]any); ok {
			for k := range p {
				set[k] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAdditional checks NEW's additionalProperties (or unevaluatedProperties)
// ap, which applies to the names covered does not cover. newPatterns are the
// patterns of NEW that cover names.
func (c *cpChecker) checkAdditional(oldF []cpNode, n, ap cpNode, covered func(string) bool, newPatterns []string, inst, kw string) []Incompatibility {
	if cpTrivial(ap) {
		return nil
	}
	var out []Incompatibility
	closed := cpIsFalse(ap)
	for _, name := range cpOldDeclared(oldF) {
		if covered(name) {
			continue
		}
		at := inst + "/" + escapeToken(name)
		cons, _ := c.propConstraints(oldF, name)
		sub := c.implies(cons, ap, at)
		if len(sub) == 0 {
			continue
		}
		if closed {
			out = append(out, Incompatibility{Kind: "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", Schema: n.where(kw), Instance: at,
				Reason: fmt.Sprintf("OLD declares %q; NEW no longer does and its %s is false, so OLD instances carrying it are refused", name, kw)})
		} else {
			out = append(out, Incompatibility{Kind: "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", Schema: n.where(kw), Instance: at,
				Reason: fmt.Sprintf("OLD declares %q; NEW no longer does and its %s refuses some of its values (%s)", name, kw, sub[0].Reason)})
		}
	}
	// Names OLD matches with a pattern NEW does not share.
	shared := map[string]bool{}
	for _, p := range newPatterns {
		shared[p] = true
	}
	for _, o := range oldF {
		if o.neg {
			continue
		}
		for _, pat := range cpPatternKeys(o) {
			if shared[pat] {
				continue
			}
			ps, _ := o.child("patternProperties", pat)
			if sub := c.implies([]cpNode{ps}, ap, inst+"/*"); len(sub) > 0 {
				out = append(out, Incompatibility{Kind: "PATTERN_PROPERTY_NARROWED", Schema: n.where(kw), Instance: inst + "/*",
					Reason: fmt.Sprintf("OLD accepts names matching %q that NEW's %s refuses (%s)", pat, kw, sub[0].Reason)})
			}
		}
	}
	// Every other name.
	var aps []cpNode
	for _, o := range oldF {
		if ch, ok := o.child("additionalProperties"); ok && !o.neg {
			aps = append(aps, ch)
		}
	}
	if len(aps) == 0 {
		aps = cpUnevaluated(oldF)
	}
	sub := c.implies(aps, ap, inst+"/*")
	if len(sub) > 0 {
		switch {
		case len(aps) == 0 && closed:
			out = append(out, Incompatibility{Kind: "ADDITIONAL_PROPERTIES_REMOVED", Schema: n.where(kw), Instance: inst + "/*",
				Reason: fmt.Sprintf("OLD's content model is open and NEW's is closed (%s false): OLD instances with other properties are refused", kw)})
		case len(aps) == 0:
			out = append(out, Incompatibility{Kind: "ADDITIONAL_PROPERTIES_NARROWED", Schema: n.where(kw), Instance: inst + "/*",
				Reason: fmt.Sprintf("OLD's content model is open and NEW's is partially open: other properties must now satisfy %s (%s)", kw, sub[0].Reason)})
		default:
			out = append(out, Incompatibility{Kind: "ADDITIONAL_PROPERTIES_NARROWED", Schema: n.where(kw), Instance: inst + "/*",
				Reason: fmt.Sprintf("NEW's %s refuses other properties OLD accepts (%s)", kw, sub[0].Reason)})
		}
	}
	return out
}

func (c *cpChecker) checkPatternProperties(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	var out []Incompatibility
	for _, pat := range cpPatternKeys(n) {
		ps, _ := n.child("patternProperties", pat)
		if cpTrivial(ps) {
			continue
		}
		r := c.re(pat)
		for _, name := range cpOldDeclared(oldF) {
			if r != nil && !r.MatchString(name) {
				continue
			}
			cons, _ := c.propConstraints(oldF, name)
			out = append(out, c.implies(cons, ps, inst+"/"+escapeToken(name))...)
		}
		// Names OLD does not declare that match pat.
		var same []cpNode
		var others []cpNode
		var aps []cpNode
		for _, o := range oldF {
			if o.neg {
				continue
			}
			for _, op := range cpPatternKeys(o) {
				ch, _ := o.child("patternProperties", op)
				if op == pat {
					same = append(same, ch)
				} else {
					others = append(others, ch)
				}
			}
			if ch, ok := o.child("additionalProperties"); ok {
				aps = append(aps, ch)
			}
		}
		if len(same) > 0 {
			out = append(out, c.implies(same, ps, inst+"/*")...)
			continue
		}
		if sub := c.implies(aps, ps, inst+"/*"); len(sub) > 0 {
			out = append(out, Incompatibility{Kind: "PATTERN_PROPERTY_ADDED", Schema: n.where("patternProperties", pat), Instance: inst + "/*",
				Reason: fmt.Sprintf("OLD accepts properties matching %q that NEW's patternProperties refuses (%s)", pat, sub[0].Reason)})
		}
		for _, o := range others {
			out = append(out, c.implies([]cpNode{o}, ps, inst+"/*")...)
		}
	}
	return out
}

func (c *cpChecker) checkPropertyNames(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	pn, _ := n.child("propertyNames")
	if cpTrivial(pn) {
		return nil
	}
	var olds []cpNode
	for _, o := range oldF {
		if ch, ok := o.child("propertyNames"); ok && !o.neg {
			olds = append(olds, ch)
		}
	}
	if len(olds) > 0 {
		return c.implies(olds, pn, inst+" (property names)")
	}
	// A closed OLD without patterns: its names are the declared ones.
	for _, o := range oldF {
		if o.neg || !cpIsFalseChild(o, "additionalProperties") || len(cpPatternKeys(o)) > 0 {
			continue
		}
		var out []Incompatibility
		props, _ := o.m()["properties"].(map[string]any)
		for _, name := range cpSortedKeys(props) {
			if ok, _ := c.accepts(pn, name); !ok {
				out = append(out, Incompatibility{Kind: "PROPERTY_NAMES_NARROWED", Schema: n.where("propertyNames"), Instance: inst + "/" + escapeToken(name),
					Reason: fmt.Sprintf("NEW's propertyNames refuses %q, which OLD declares", name)})
			}
		}
		return out
	}
	return []Incompatibility{{Kind: "PROPERTY_NAMES_ADDED", Schema: n.where("propertyNames"), Instance: inst,
		Reason: "NEW restricts property names; OLD accepts any"}}
}

func cpIsFalseChild(o cpNode, kw string) bool {
	ch, ok := o.child(kw)
	return ok && cpIsFalse(ch)
}

// lower and upper are the tightest bounds of kw among OLD's conjuncts.
func (c *cpChecker) lower(oldF []cpNode, kw string) (*big.Rat, bool) {
	var best *big.Rat
	for _, o := range oldF {
		if r, ok := cpRat(o.m()[kw]); ok && !o.neg && (best == nil || r.Cmp(best) > 0) {
			best = r
		}
	}
	return best, best != nil
}

func (c *cpChecker) upper(oldF []cpNode, kw string) (*big.Rat, bool) {
	var best *big.Rat
	for _, o := range oldF {
		if r, ok := cpRat(o.m()[kw]); ok && !o.neg && (best == nil || r.Cmp(best) < 0) {
			best = r
		}
	}
	return best, best != nil
}

func (c *cpChecker) checkBound(oldF []cpNode, n cpNode, kw, inst string) []Incompatibility {
	nv, ok := cpRat(n.m()[kw])
	if !ok {
		return nil
	}
	isMin := strings.HasPrefix(kw, "min")
	var ov *big.Rat
	var have bool
	if isMin {
		if nv.Sign() <= 0 {
			return nil
		}
		ov, have = c.lower(oldF, kw)
	} else {
		ov, have = c.upper(oldF, kw)
	}
	kind := strings.ToUpper(cpSnake(kw))
	switch {
	case !have:
		return []Incompatibility{{Kind: kind + "_ADDED", Schema: n.where(kw), Instance: inst, Reason: fmt.Sprintf("NEW adds %s %s; OLD has no such limit", kw, nv.RatString())}}
	case isMin && ov.Cmp(nv) < 0:
		return []Incompatibility{{Kind: kind + "_INCREASED", Schema: n.where(kw), Instance: inst, Reason: fmt.Sprintf("%s raised from %s to %s", kw, ov.RatString(), nv.RatString())}}
	case !isMin && ov.Cmp(nv) > 0:
		return []Incompatibility{{Kind: kind + "_DECREASED", Schema: n.where(kw), Instance: inst, Reason: fmt.Sprintf("%s lowered from %s to %s", kw, ov.RatString(), nv.RatString())}}
	}
	return nil
}

// cpNumBound is a number bound: a value, exclusive or not.
type cpNumBound struct {
	v    *big.Rat
	excl bool
}

func (c *cpChecker) oldNumBound(oldF []cpNode, lowerSide bool) (cpNumBound, bool) {
	var best cpNumBound
	have := false
	incl, excl := "minimum", "exclusiveMinimum"
	if !lowerSide {
		incl, excl = "maximum", "exclusiveMaximum"
	}
	for _, o := range oldF {
		if o.neg {
			continue
		}
		for _, k := range []string{incl, excl} {
			r, ok := cpRat(o.m()[k])
			if !ok {
				continue
			}
			b := cpNumBound{r, k == excl}
			if !have {
				best, have = b, true
				continue
			}
			cmp := b.v.Cmp(best.v)
			if !lowerSide {
				cmp = -cmp
			}
			if cmp > 0 || cmp == 0 && b.excl {
				best = b
			}
		}
	}
	return best, have
}

func (c *cpChecker) checkNumberBound(oldF []cpNode, n cpNode, kw, inst string) []Incompatibility {
	nv, ok := cpRat(n.m()[kw])
	if !ok {
		return nil
	}
	lowerSide := strings.Contains(kw, "inimum")
	nExcl := strings.HasPrefix(kw, "exclusive")
	ob, have := c.oldNumBound(oldF, lowerSide)
	kind := strings.ToUpper(cpSnake(kw))
	if !have {
		return []Incompatibility{{Kind: kind + "_ADDED", Schema: n.where(kw), Instance: inst, Reason: fmt.Sprintf("NEW adds %s %s; OLD has no such limit", kw, nv.RatString())}}
	}
	cmp := ob.v.Cmp(nv)
	if !lowerSide {
		cmp = -cmp
	}
	// OLD's bound must be at least as tight.
	good := cmp > 0 || cmp == 0 && (!nExcl || ob.excl)
	if good {
		return nil
	}
	dir := "INCREASED"
	if !lowerSide {
		dir = "DECREASED"
	}
	return []Incompatibility{{Kind: kind + "_" + dir, Schema: n.where(kw), Instance: inst,
		Reason: fmt.Sprintf("NEW's %s %s is tighter than OLD's bound %s", kw, nv.RatString(), cpBoundText(ob, lowerSide))}}
}

func cpBoundText(b cpNumBound, lowerSide bool) string {
	op := map[[2]bool]string{{true, false}: ">=", {true, true}: ">", {false, false}: "<=", {false, true}: "<"}[[2]bool{lowerSide, b.excl}]
	return op + " " + b.v.RatString()
}

func (c *cpChecker) checkDependentRequired(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	dr, _ := n.m()["dependentRequired"].(map[string]any)
	var out []Incompatibility
	req := map[string]bool{}
	for _, o := range oldF {
		if !o.neg {
			for _, r := range cpStrings(o.m()["required"]) {
				req[r] = true
			}
		}
	}
	for _, k := range cpSortedKeys(dr) {
		if cons, _ := c.propConstraints(oldF, k); cpAnyFalse(cons) {
			continue // OLD never has k
		}
		for _, r := range cpStrings(dr[k]) {
			if req[r] {
				continue
			}
			found := false
			for _, o := range oldF {
				if odr, ok := o.m()["dependentRequired"].(map[string]any); ok && !o.neg {
					for _, x := range cpStrings(odr[k]) {
						found = found || x == r
					}
				}
			}
			if !found {
				out = append(out, Incompatibility{Kind: "DEPENDENCY_ARRAY_EXTENDED", Schema: n.where("dependentRequired", k), Instance: inst + "/" + escapeToken(r),
					Reason: fmt.Sprintf("NEW requires %q when %q is present; OLD did not", r, k)})
			}
		}
	}
	return out
}

func cpAnyFalse(ns []cpNode) bool {
	for _, n := range ns {
		if cpIsFalse(n) {
			return true
		}
	}
	return false
}

func (c *cpChecker) checkDependentSchemas(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	ds, _ := n.m()["dependentSchemas"].(map[string]any)
	var out []Incompatibility
	for _, k := range cpSortedKeys(ds) {
		ns, _ := n.child("dependentSchemas", k)
		if cons, _ := c.propConstraints(oldF, k); cpAnyFalse(cons) {
			continue
		}
		with := append([]cpNode(nil), oldF...)
		for _, o := range oldF {
			if ch, ok := o.child("dependentSchemas", k); ok && !o.neg {
				with = append(with, ch)
			}
		}
		if sub := c.implies(with, ns, inst); len(sub) > 0 {
			out = append(out, Incompatibility{Kind: "DEPENDENCY_SCHEMA_ADDED", Schema: n.where("dependentSchemas", k), Instance: inst,
				Reason: fmt.Sprintf("when %q is present NEW requires more than OLD (%s)", k, sub[0].Reason)})
		}
	}
	return out
}

// cpItemConstraints are the schemas OLD applies to array item i (i < 0: any
// item past every prefixItems).
func cpItemConstraints(oldF []cpNode, i int) []cpNode {
	var out []cpNode
	for _, o := range oldF {
		if o.neg {
			continue
		}
		pre, _ := o.m()["prefixItems"].([]any)
		if i >= 0 && i < len(pre) {
			if ch, ok := o.child("prefixItems", strconv.Itoa(i)); ok {
				out = append(out, ch)
			}
			continue
		}
		if ch, ok := o.child("items"); ok {
			out = append(out, ch)
		}
	}
	return out
}

func (c *cpChecker) checkItems(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	var out []Incompatibility
	pre, _ := n.m()["prefixItems"].([]any)
	maxOld := -1 // no limit
	if hi, ok := c.upper(oldF, "maxItems"); ok {
		f, _ := hi.Float64()
		maxOld = int(f)
	}
	reach := func(i int) bool { return maxOld < 0 || i < maxOld }
	oldPre := 0
	for _, o := range oldF {
		if p, ok := o.m()["prefixItems"].([]any); ok && len(p) > oldPre && !o.neg {
			oldPre = len(p)
		}
	}
	for i := range pre {
		if !reach(i) {
			break
		}
		np, _ := n.child("prefixItems", strconv.Itoa(i))
		out = append(out, c.implies(cpItemConstraints(oldF, i), np, inst+"/"+strconv.Itoa(i))...)
	}
	ni, ok := n.child("items")
	if !ok || cpTrivial(ni) {
		return out
	}
	for i := len(pre); i < oldPre && reach(i); i++ {
		out = append(out, c.implies(cpItemConstraints(oldF, i), ni, inst+"/"+strconv.Itoa(i))...)
	}
	start := max(len(pre), oldPre)
	if reach(start) {
		sub := c.implies(cpItemConstraints(oldF, -1), ni, inst+"/*")
		if len(sub) > 0 && cpIsFalse(ni) {
			sub = []Incompatibility{{Kind: "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", Schema: ni.where(), Instance: inst + "/*",
				Reason: fmt.Sprintf("NEW refuses arrays of more than %d items (items false); OLD accepts them", len(pre))}}
		}
		out = append(out, sub...)
	}
	return out
}

func (c *cpChecker) checkUnevaluatedItems(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	ui, _ := n.child("unevaluatedItems")
	if cpTrivial(ui) {
		return nil
	}
	newF, _ := c.flatten([]cpNode{n})
	if cpHasAny(newF, "anyOf", "oneOf", "if", "contains") {
		return c.sameKeyword(oldF, n, "unevaluatedItems", inst)
	}
	covered := 0
	for _, f := range newF {
		if f.has("items") {
			return nil
		}
		if p, ok := f.m()["prefixItems"].([]any); ok && len(p) > covered {
			covered = len(p)
		}
	}
	var out []Incompatibility
	oldPre := 0
	for _, o := range oldF {
		if p, ok := o.m()["prefixItems"].([]any); ok && len(p) > oldPre && !o.neg {
			oldPre = len(p)
		}
	}
	for i := covered; i < oldPre; i++ {
		out = append(out, c.implies(cpItemConstraints(oldF, i), ui, inst+"/"+strconv.Itoa(i))...)
	}
	out = append(out, c.implies(cpItemConstraints(oldF, -1), ui, inst+"/*")...)
	return out
}

func (c *cpChecker) checkContains(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	cn, _ := n.child("contains")
	minC := big.NewRat(1, 1)
	if r, ok := cpRat(n.m()["minContains"]); ok {
		minC = r
	}
	maxC, hasMax := cpRat(n.m()["maxContains"])
	var out []Incompatibility
	if minC.Sign() > 0 {
		good := false
		for _, o := range oldF {
			oc, ok := o.child("contains")
			if !ok || o.neg {
				continue
			}
			om := big.NewRat(1, 1)
			if r, ok := cpRat(o.m()["minContains"]); ok {
				om = r
			}
			if om.Cmp(minC) >= 0 && len(c.implies([]cpNode{oc}, cn, inst+"/*")) == 0 {
				good = true
			}
		}
		if !good {
			out = append(out, Incompatibility{Kind: "CONTAINS_NARROWED", Schema: n.where("contains"), Instance: inst,
				Reason: fmt.Sprintf("NEW requires at least %s item(s) matching its contains; OLD does not guarantee it", minC.RatString())})
		}
	}
	if hasMax {
		good := false
		if hi, ok := c.upper(oldF, "maxItems"); ok && hi.Cmp(maxC) <= 0 {
			good = true
		}
		for _, o := range oldF {
			oc, ok := o.child("contains")
			om, okm := cpRat(o.m()["maxContains"])
			if ok && okm && !o.neg && om.Cmp(maxC) <= 0 && len(c.implies([]cpNode{cn}, oc, inst+"/*")) == 0 {
				good = true
			}
		}
		if !good {
			out = append(out, Incompatibility{Kind: "MAX_CONTAINS_ADDED", Schema: n.where("maxContains"), Instance: inst,
				Reason: fmt.Sprintf("NEW allows at most %s item(s) matching its contains; OLD does not limit them", maxC.RatString())})
		}
	}
	return out
}

func (c *cpChecker) checkUnion(oldF []cpNode, n cpNode, kw, inst string) []Incompatibility {
	members, _ := n.m()[kw].([]any)
	var best []Incompatibility
	for i := range members {
		mem, ok := n.child(kw, strconv.Itoa(i))
		if !ok {
			continue
		}
		sub := c.implies(oldF, mem, inst)
		if len(sub) == 0 {
			return nil
		}
		if best == nil || len(sub) < len(best) {
			best = sub
		}
	}
	// OLD of several types: each type may find its own member.
	if bits, _ := cpOldTypes(oldF); len(cpTypeGroups(bits)) > 1 {
		all := true
		for _, g := range cpTypeGroups(bits) {
			with := append(append([]cpNode(nil), oldF...), g)
			found := false
			for i := range members {
				if mem, ok := n.child(kw, strconv.Itoa(i)); ok && len(c.implies(with, mem, inst)) == 0 {
					found = true
					break
				}
			}
			all = all && found
		}
		if all {
			return nil
		}
	}
	why := ""
	if len(best) > 0 {
		why = " (nearest: " + best[0].Reason + ")"
	}
	return []Incompatibility{{Kind: "SUM_TYPE_NARROWED", Schema: n.where(kw), Instance: inst,
		Reason: fmt.Sprintf("no member of NEW's %s accepts every instance OLD accepts here%s", kw, why)}}
}

func (c *cpChecker) checkNot(oldF []cpNode, n cpNode, inst string, bits int) []Incompatibility {
	nn, _ := n.child("not")
	if b, ok := nn.v.(bool); ok && !b {
		return nil // not false: anything
	}
	if t, ok := nn.m()["type"]; ok && cpTypeBits(t)&bits == 0 {
		return nil // OLD's types and the excluded ones do not meet
	}
	for _, o := range oldF {
		on, ok := o.child("not")
		if !ok || o.neg {
			continue
		}
		if len(c.implies([]cpNode{nn}, on, inst)) == 0 {
			return nil // what NEW excludes, OLD excluded already
		}
	}
	return []Incompatibility{{Kind: "NOT_TYPE_NARROWED", Schema: n.where("not"), Instance: inst,
		Reason: "NEW excludes values (not) that OLD may accept"}}
}

// checkIf checks if/then/else: an OLD instance that passes the if must pass
// then, one that fails it must pass else.
func (c *cpChecker) checkIf(oldF []cpNode, n cpNode, inst string) []Incompatibility {
	ifn, _ := n.child("if")
	var out []Incompatibility
	if th, ok := n.child("then"); ok && !cpTrivial(th) {
		with := append(append([]cpNode(nil), oldF...), ifn)
		out = append(out, c.implies(with, th, inst)...)
	}
	if el, ok := n.child("else"); ok && !cpTrivial(el) {
		not := ifn
		not.neg = true
		with := append(append([]cpNode(nil), oldF...), not)
		out = append(out, c.implies(with, el, inst)...)
	}
	return out
}

// sameKeyword accepts a keyword this cpChecker does not analyse only when an
// OLD conjunct has it with the same value and no $ref in it.
func (c *cpChecker) sameKeyword(oldF []cpNode, n cpNode, kw, inst string) []Incompatibility {
	v := n.m()[kw]
	if !cpHasRef(v) {
		for _, o := range oldF {
			if ov, ok := o.m()[kw]; ok && !o.neg && cpCanon(ov) == cpCanon(v) {
				return nil
			}
		}
	}
	return []Incompatibility{{Kind: "NOT_ANALYSED", Schema: n.where(kw), Instance: inst,
		Reason: fmt.Sprintf("%s here is not compared (it differs from OLD or depends on anyOf/oneOf/if); check by hand", kw)}}
}
