package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Form schemas describe what a procedure's applicant fills in (the form of
// the national portal's e-form: the child, the parents, the parcel...) and
// what a step hands on (the tax office's notice). Each is a JSON Schema
// 2020-12 document with $id urn:lienthong:form:<name>:v<N>, <name> being the
// procedure code (1.004227) or the name of a step output (tax-notice).
//
// The built-in ones (forms/*.json here) serve the example procedures; a
// deployment adds its own in the directory the config names (forms_dir).
// Like event schemas, a published version is immutable: publish v<N+1>.

// FormURNPrefix begins every form schema's $id.
const FormURNPrefix = "urn:lienthong:form:"

// Limits on a submitted form, checked before its schema so that a hostile
// document costs little: a form nests a few levels (the child, its place
// of birth) and weighs a few kilobytes.
const (
	MaxFormDepth = 16
	MaxFormBytes = 64 << 10
)

// FormInfo describes one form schema.
type FormInfo struct {
	URN     string `json:"urn"`     // urn:lienthong:form:<name>:v<N>, the schema's $id
	Name    string `json:"name"`    // a procedure code, or a step output's name
	Version int    `json:"version"` // the N of v<N>
	Title   string `json:"title,omitempty"`
	Path    string `json:"path"`   // where it was read: schemas/forms/... (built in) or a file of forms_dir
	SHA256  string `json:"sha256"` // of the file's bytes: a version's content never changes
	BuiltIn bool   `json:"built_in"`
}

// FormError is a form schema that cannot be used: the file, the location in
// it (a JSON Pointer into the schema document) and what is wrong.
type FormError struct {
	Path     string
	Location string
	Message  string
}

func (e *FormError) Error() string {
	loc := e.Location
	if loc == "" {
		loc = "(document)"
	}
	return fmt.Sprintf("form schema %s: at %s: %s", e.Path, loc, e.Message)
}

// ParseFormURN splits urn:lienthong:form:<name>:v<N>.
func ParseFormURN(urn string) (name string, version int, ok bool) {
	rest, ok := strings.CutPrefix(urn, FormURNPrefix)
	i := strings.LastIndexByte(rest, ':')
	if !ok || i <= 0 {
		return "", 0, false
	}
	name = rest[:i]
	if version, ok = parseVersion(rest[i+1:]); !ok || !validFormName(name) {
		return "", 0, false
	}
	return name, version, true
}

// FormURN returns the URN of a form schema.
func FormURN(name string, version int) string {
	return FormURNPrefix + name + ":v" + strconv.Itoa(version)
}

// validFormName: lowercase letters, digits, '.', '_' and '-', starting with a
// letter or digit, at most 64 characters (procedure codes are 1.004227).
func validFormName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// formFile is one form schema document to compile.
type formFile struct {
	path    string
	raw     []byte
	builtIn bool
}

// LoadWithForms compiles the embedded schemas, the built-in form schemas
// and every *.json file under dir (searched recursively; "" for none). A
// file that is not a usable form schema is a *FormError naming it and the
// location in it; a URN defined twice with different content is refused.
func LoadWithForms(dir string) (*Registry, error) {
	var files []formFile
	if dir != "" {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, formFile{path: p, raw: raw})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read form schemas in %s: %w", dir, err)
		}
	}
	return load(embedded, files)
}

// builtInForms lists the embedded form schemas.
func builtInForms(fsys fs.FS) ([]formFile, error) {
	paths, err := fs.Glob(fsys, "forms/*.json")
	if err != nil {
		return nil, err
	}
	var out []formFile
	for _, p := range paths {
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		out = append(out, formFile{path: "schemas/" + p, raw: raw, builtIn: true})
	}
	return out, nil
}

// addForms checks each form document and adds it to the compiler; the
// schemas are compiled by compileForms once every resource is known.
func (r *Registry) addForms(c *jsonschema.Compiler, files []formFile) error {
	for _, f := range files {
		parsed, err := decodeJSON(f.raw)
		if err != nil {
			return &FormError{Path: f.path, Message: "not JSON: " + err.Error()}
		}
		m, ok := parsed.(map[string]any)
		if !ok {
			return &FormError{Path: f.path, Message: "a schema must be a JSON object"}
		}
		if s, _ := m["$schema"].(string); s != draft2020 {
			return &FormError{Path: f.path, Location: "/$schema", Message: fmt.Sprintf("must be %q (JSON Schema 2020-12)", draft2020)}
		}
		id, _ := m["$id"].(string)
		name, version, ok := ParseFormURN(id)
		if !ok {
			return &FormError{Path: f.path, Location: "/$id", Message: fmt.Sprintf("must be %s<procedure or output name>:v<N>, e.g. %s", FormURNPrefix, FormURN("1.004227", 1))}
		}
		sum := sha256.Sum256(f.raw)
		digest := hex.EncodeToString(sum[:])
		if old, dup := r.forms[id]; dup {
			if old.info.SHA256 == digest {
				continue // the same document twice (a copy of a built-in one)
			}
			return &FormError{Path: f.path, Location: "/$id", Message: fmt.Sprintf("%s is already defined by %s with other content; a published version never changes: give this one a new version", id, old.info.Path)}
		}
		title, _ := m["title"].(string)
		r.forms[id] = &form{info: FormInfo{URN: id, Name: name, Version: version, Title: title, Path: f.path, SHA256: digest, BuiltIn: f.builtIn}}
		d := &document{name: "forms/" + name + "/v" + strconv.Itoa(version), urn: id, raw: f.raw, etag: `"` + digest + `"`, parsed: parsed}
		r.docs[d.name] = d
		r.byURN[id] = d
		if err := c.AddResource(id, bytes.NewReader(f.raw)); err != nil {
			return &FormError{Path: f.path, Message: err.Error()}
		}
	}
	return nil
}

func (r *Registry) compileForms(c *jsonschema.Compiler) error {
	for urn, f := range r.forms {
		s, err := c.Compile(urn)
		if err != nil {
			return compileError(f.info.Path, err)
		}
		f.schema = s
		r.formInfos = append(r.formInfos, f.info)
	}
	sort.Slice(r.formInfos, func(i, j int) bool {
		a, b := r.formInfos[i], r.formInfos[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return nil
}

// compileError locates a compile failure in the schema document: a keyword
// that breaks the 2020-12 meta-schema is reported at its pointer; a $ref
// that cannot be resolved, with the library's message naming it.
func compileError(path string, err error) error {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		for len(ve.Causes) > 0 {
			ve = ve.Causes[0]
		}
		loc := ve.InstanceLocation
		if loc == "/" {
			loc = ""
		}
		return &FormError{Path: path, Location: loc, Message: "not a valid JSON Schema 2020-12: " + ve.Message}
	}
	msg := err.Error()
	loc := ""
	// jsonschema words other failures with the schema URL and fragment:
	// `... "urn:lienthong:form:x:v1#/properties/a/$ref" ...`.
	if i := strings.Index(msg, "#/"); i >= 0 {
		j := i + 1
		for j < len(msg) && msg[j] != '"' && msg[j] != '\'' && msg[j] != ' ' {
			j++
		}
		loc = msg[i+1 : j]
	}
	return &FormError{Path: path, Location: loc, Message: msg}
}

// form is one compiled form schema.
type form struct {
	info   FormInfo
	schema *jsonschema.Schema
}

// Forms returns every form schema, sorted by name then version.
func (r *Registry) Forms() []FormInfo { return append([]FormInfo(nil), r.formInfos...) }

// Form returns the form schema with the given URN.
func (r *Registry) Form(urn string) (FormInfo, bool) {
	f, ok := r.forms[urn]
	if !ok {
		return FormInfo{}, false
	}
	return f.info, true
}

// formsNamed returns the URNs of every version of a form name, oldest first.
func (r *Registry) formsNamed(name string) []string {
	var out []string
	for _, f := range r.formInfos {
		if f.Name == name {
			out = append(out, f.URN)
		}
	}
	return out
}

// ValidateForm checks v (decoded JSON) against the form schema urn, after
// the depth and size limits. Locations start with at, its pointer in the
// event ("/data/form", "/data/outputs").
func (r *Registry) ValidateForm(urn string, v any, at string) []Error {
	f, ok := r.forms[urn]
	if !ok {
		return []Error{{Location: at, Message: fmt.Sprintf("no form schema %s", urn)}}
	}
	if _, isObj := v.(map[string]any); !isObj {
		return []Error{{Location: at, Message: "must be an object, got " + jsonKind(v)}}
	}
	size, deep, tooDeep := measure(v, 0)
	if tooDeep {
		return []Error{{Location: at + deep, Message: fmt.Sprintf("nests more than %d levels of objects and arrays", MaxFormDepth)}}
	}
	if size > MaxFormBytes {
		return []Error{{Location: at, Message: fmt.Sprintf("is about %d bytes; a form may hold at most %d (documents go by reference, in documents)", size, MaxFormBytes)}}
	}
	return r.report(f.schema.Validate(v), v, at)
}

// CheckForm applies a procedure's form rules to the data of a
// dossier.submitted (v2): accepted lists the form schemas the procedure
// takes, newest last (none: the procedure has no form, and data.form is
// refused). data.form_schema, when present, must be one of them; otherwise
// the newest applies. Errors are located in the event (/data/form...).
func (r *Registry) CheckForm(data map[string]any, procedure string, accepted []string) []Error {
	f, hasForm := data["form"]
	urn, hasURN := data["form_schema"].(string)
	if len(accepted) == 0 {
		if hasForm || hasURN {
			loc := "/data/form"
			if !hasForm {
				loc = "/data/form_schema"
			}
			return []Error{{Location: loc, Message: fmt.Sprintf("procedure %s has no form schema in this bus's config; leave form and form_schema out", procedure)}}
		}
		return nil
	}
	if hasURN {
		in := false
		for _, a := range accepted {
			in = in || a == urn
		}
		if !in {
			name, v, _ := ParseFormURN(urn)
			msg := fmt.Sprintf("procedure %s does not accept form v%d (accepted: %s)", procedure, v, versions(accepted))
			if name != procedure {
				msg = fmt.Sprintf("%s is a form of %s, not of procedure %s (accepted: %s)", urn, name, procedure, strings.Join(accepted, ", "))
			}
			return []Error{{Location: "/data/form_schema", Message: msg}}
		}
	} else {
		urn = accepted[len(accepted)-1]
	}
	if !hasForm {
		return []Error{{Location: "/data/form", Message: fmt.Sprintf("missing property \"form\": procedure %s needs its form (%s)", procedure, urn)}}
	}
	return r.ValidateForm(urn, f, "/data/form")
}

// versions words a list of form URNs as "v1, v2".
func versions(urns []string) string {
	vs := make([]string, len(urns))
	for i, u := range urns {
		_, v, _ := ParseFormURN(u)
		vs[i] = "v" + strconv.Itoa(v)
	}
	return strings.Join(vs, ", ")
}

// measure returns about how many bytes v's compact JSON takes and, when an
// object or array nests deeper than MaxFormDepth, tooDeep with the pointer
// of the first such (relative to v). depth is v's own nesting level.
func measure(v any, depth int) (size int, deep string, tooDeep bool) {
	switch x := v.(type) {
	case map[string]any:
		if depth >= MaxFormDepth {
			return 0, "", true
		}
		size = 2
		for k, e := range x {
			s, dp, td := measure(e, depth+1)
			if td {
				return size, "/" + escapeToken(k) + dp, true
			}
			size += len(k) + 4 + s
		}
		return size, "", false
	case []any:
		if depth >= MaxFormDepth {
			return 0, "", true
		}
		size = 2
		for i, e := range x {
			s, dp, td := measure(e, depth+1)
			if td {
				return size, "/" + strconv.Itoa(i) + dp, true
			}
			size += s + 1
		}
		return size, "", false
	case string:
		return len(x) + 2, "", false
	case json.Number:
		return len(x), "", false
	case nil:
		return 4, "", false
	case bool:
		return 5, "", false
	}
	return 8, "", false
}
