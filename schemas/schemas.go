// Package schemas holds lienthong's JSON Schemas (the CloudEvent envelope,
// the shared definitions and one schema per event type and version), embedded
// in the binary, and validates events against them.
//
// Every schema is compiled once by Load, from memory only: a $ref to anything
// that is not embedded fails at Load, never at run time and never over the
// network. Validation errors are reported at their leaf causes, each located
// by a JSON Pointer into the submitted event, so a department system can see
// exactly which field to fix.
//
// Layout: defs.json (shared $defs), envelope.json (CloudEvents attributes;
// extension attributes are allowed when their names are 1-20 lowercase
// letters or digits and their values scalars, anything else is refused so a
// misspelt attribute does not pass silently), and <type>/v<N>.json for the
// data of each event type. To publish a new version, add <type>/v<N+1>.json
// with $id urn:lienthong:schema:<type>:v<N+1>; it becomes the version for
// events without dataschema. Never edit a published version.
package schemas

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed defs.json envelope.json */v*.json forms/*.json
var embedded embed.FS

// URN prefix and the URNs of the two schemas that are not event data.
const (
	URNPrefix   = "urn:lienthong:schema:"
	DefsURN     = URNPrefix + "defs"
	EnvelopeURN = URNPrefix + "envelope"
)

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// Errors of ParseDataSchema, for callers that must tell them apart (the
// gateway answers unknown-type and unknown-schema-version differently).
var (
	ErrBadDataSchema  = errors.New("malformed dataschema")
	ErrUnknownType    = errors.New("unknown event type")
	ErrUnknownVersion = errors.New("unknown schema version")
)

// Error is one validation failure. Location is a JSON Pointer (RFC 6901) into
// the submitted event: "/data/applicant/id_number", "/time", or "" for the
// event as a whole.
type Error struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (e Error) String() string {
	loc := e.Location
	if loc == "" {
		loc = "(event)"
	}
	return loc + ": " + e.Message
}

// Info describes one event data schema.
type Info struct {
	Type    string // event type, e.g. dossier.submitted
	Version int    // schema version, the N of v<N>
	URN     string // the dataschema URN and the schema's $id
	Path    string // source file in the repository, e.g. schemas/dossier.submitted/v1.json
}

type key struct {
	typ     string
	version int
}

// document is one embedded schema file.
type document struct {
	name   string // "defs", "envelope" or "<type>/v<N>"
	urn    string
	raw    []byte
	etag   string
	parsed any // decoded JSON, to look up keyword values when wording errors
}

// Registry is the set of compiled schemas. It is safe for concurrent use.
type Registry struct {
	envelope *jsonschema.Schema
	data     map[key]*jsonschema.Schema
	latest   map[string]int
	infos    []Info
	docs     map[string]*document // by name
	byURN    map[string]*document
	index    []byte // the GET /v1/schemas body
	indexTag string
	// Form schemas (forms.go), by URN.
	forms     map[string]*form
	formInfos []FormInfo
}

// Load compiles every embedded schema, the built-in form schemas included.
// LoadWithForms adds a deployment's own form schemas.
func Load() (*Registry, error) { return load(embedded, nil) }

// MustLoad is Load for program start-up and tests; it panics on a broken
// embedded schema, which is a build defect.
func MustLoad() *Registry {
	r, err := Load()
	if err != nil {
		panic(err)
	}
	return r
}

// load compiles the schemas of fsys, laid out like this directory, its
// built-in forms, and the extra form schema files.
func load(fsys fs.FS, extra []formFile) (*Registry, error) {
	r := &Registry{
		data:   map[key]*jsonschema.Schema{},
		latest: map[string]int{},
		docs:   map[string]*document{},
		byURN:  map[string]*document{},
		forms:  map[string]*form{},
	}
	add := func(name, urn, path string) error {
		raw, err := fs.ReadFile(fsys, path)
		if err != nil {
			return fmt.Errorf("read schema %s: %w", path, err)
		}
		parsed, err := decodeJSON(raw)
		if err != nil {
			return fmt.Errorf("parse schema %s: %w", path, err)
		}
		m, _ := parsed.(map[string]any)
		if id, _ := m["$id"].(string); id != urn {
			return fmt.Errorf("schema %s: $id is %q, want %q", path, id, urn)
		}
		if s, _ := m["$schema"].(string); s != draft2020 {
			return fmt.Errorf("schema %s: $schema is %q, want %q", path, s, draft2020)
		}
		sum := sha256.Sum256(raw)
		d := &document{name: name, urn: urn, raw: raw, etag: `"` + hex.EncodeToString(sum[:]) + `"`, parsed: parsed}
		r.docs[name] = d
		r.byURN[urn] = d
		return nil
	}
	if err := add("defs", DefsURN, "defs.json"); err != nil {
		return nil, err
	}
	if err := add("envelope", EnvelopeURN, "envelope.json"); err != nil {
		return nil, err
	}
	paths, err := fs.Glob(fsys, "*/v*.json")
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	for _, p := range paths {
		dir, file, _ := strings.Cut(p, "/")
		v, ok := parseVersion(strings.TrimSuffix(file, ".json"))
		if !ok || !validType(dir) {
			return nil, fmt.Errorf("schema file %s: want <type>/v<N>.json", p)
		}
		if err := add(dir+"/v"+strconv.Itoa(v), URNPrefix+dir+":v"+strconv.Itoa(v), p); err != nil {
			return nil, err
		}
		r.infos = append(r.infos, Info{Type: dir, Version: v, URN: URNPrefix + dir + ":v" + strconv.Itoa(v), Path: "schemas/" + p})
		if v > r.latest[dir] {
			r.latest[dir] = v
		}
	}
	sort.Slice(r.infos, func(i, j int) bool {
		if r.infos[i].Type != r.infos[j].Type {
			return r.infos[i].Type < r.infos[j].Type
		}
		return r.infos[i].Version < r.infos[j].Version
	})

	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	// Under 2020-12 format is only an annotation unless asserted; without
	// this "time": "yesterday" would pass.
	c.AssertFormat = true
	// Everything a schema may refer to was added below; anything else is a
	// defect in the schemas, not something to fetch.
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema %s is not embedded in lienthong; refusing to load it", u)
	}
	for _, d := range r.docs {
		if err := c.AddResource(d.urn, bytes.NewReader(d.raw)); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", d.name, err)
		}
	}
	builtIn, err := builtInForms(fsys)
	if err != nil {
		return nil, fmt.Errorf("list built-in form schemas: %w", err)
	}
	if err := r.addForms(c, append(builtIn, extra...)); err != nil {
		return nil, err
	}
	if _, err := c.Compile(DefsURN); err != nil {
		return nil, fmt.Errorf("compile schema defs: %w", err)
	}
	if r.envelope, err = c.Compile(EnvelopeURN); err != nil {
		return nil, fmt.Errorf("compile schema envelope: %w", err)
	}
	for _, in := range r.infos {
		s, err := c.Compile(in.URN)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s v%d: %w", in.Type, in.Version, err)
		}
		r.data[key{in.Type, in.Version}] = s
	}
	if err := r.compileForms(c); err != nil {
		return nil, err
	}
	if err := r.buildIndex(); err != nil {
		return nil, err
	}
	return r, nil
}

// validType mirrors the envelope's type pattern ^[a-z]+(\.[a-z]+)+$.
func validType(t string) bool {
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 'a' || p[i] > 'z' {
				return false
			}
		}
	}
	return true
}

// parseVersion parses "v<N>", N a positive decimal without leading zeros.
func parseVersion(s string) (int, bool) {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Known reports whether typ has at least one schema version.
func (r *Registry) Known(typ string) bool {
	_, ok := r.latest[typ]
	return ok
}

// Latest returns the newest schema version of typ: the one that applies to
// an event without dataschema.
func (r *Registry) Latest(typ string) (int, bool) {
	v, ok := r.latest[typ]
	return v, ok
}

// HasVersion reports whether typ has a schema of version v.
func (r *Registry) HasVersion(typ string, v int) bool {
	_, ok := r.data[key{typ, v}]
	return ok
}

// ParseDataSchema splits a dataschema URN, urn:lienthong:schema:<type>:v<N>.
// The error wraps ErrBadDataSchema when the URN is malformed, ErrUnknownType
// or ErrUnknownVersion when it names no embedded schema; in the last two
// cases the parsed type and version are returned too.
func (r *Registry) ParseDataSchema(urn string) (typ string, version int, err error) {
	rest, ok := strings.CutPrefix(urn, URNPrefix)
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 {
		return "", 0, fmt.Errorf("%w: %q is not %s<type>:v<N>", ErrBadDataSchema, urn, URNPrefix)
	}
	typ = rest[:i]
	version, ok = parseVersion(rest[i+1:])
	if !ok || !validType(typ) {
		return "", 0, fmt.Errorf("%w: %q is not %s<type>:v<N>", ErrBadDataSchema, urn, URNPrefix)
	}
	if !r.Known(typ) {
		return typ, version, fmt.Errorf("%w %q", ErrUnknownType, typ)
	}
	if !r.HasVersion(typ, version) {
		return typ, version, fmt.Errorf("%w: %s has no v%d (%s)", ErrUnknownVersion, typ, version, r.versionList(typ))
	}
	return typ, version, nil
}

// versionList words the versions of typ for error messages: "known: v1, v2".
func (r *Registry) versionList(typ string) string {
	var vs []string
	for _, in := range r.infos {
		if in.Type == typ {
			vs = append(vs, "v"+strconv.Itoa(in.Version))
		}
	}
	return "known: " + strings.Join(vs, ", ")
}

// List returns every event data schema, sorted by type then version.
func (r *Registry) List() []Info {
	return append([]Info(nil), r.infos...)
}

// Document returns a copy of the schema document called name: "envelope",
// "defs" or "<type>/v<N>".
func (r *Registry) Document(name string) ([]byte, bool) {
	d, ok := r.docs[name]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), d.raw...), true
}

// ValidateEnvelope checks the CloudEvents attributes of a decoded event
// (from encoding/json, with or without UseNumber). The data member is only
// checked to be an object; see ValidateData.
func (r *Registry) ValidateEnvelope(ev any) []Error {
	return r.report(r.envelope.Validate(ev), ev, "")
}

// ValidateData checks an event's data against the schema of typ, version.
// Locations start with /data. An unknown type is reported at /type, an
// unknown version at /dataschema.
func (r *Registry) ValidateData(typ string, version int, data any) []Error {
	s, ok := r.data[key{typ, version}]
	if !ok {
		if !r.Known(typ) {
			return []Error{{Location: "/type", Message: fmt.Sprintf("unknown event type %q", typ)}}
		}
		return []Error{{Location: "/dataschema", Message: fmt.Sprintf("unknown schema version v%d of %s (%s)", version, typ, r.versionList(typ))}}
	}
	return r.report(s.Validate(data), data, "/data")
}
