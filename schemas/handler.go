package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/problem"
)

// PathPrefix is where Handler expects to be mounted (both "/v1/schemas" and
// "/v1/schemas/" on a ServeMux); it reads the full request path.
const PathPrefix = "/v1/schemas"

// Schemas are fixed for the life of a binary; the ETag lets caches check
// cheaply after an upgrade.
const cacheControl = "public, max-age=3600"

type indexEntry struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	URN     string `json:"urn"`
	Href    string `json:"href"`
}

type linkEntry struct {
	URN  string `json:"urn"`
	Href string `json:"href"`
}

type formEntry struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	URN     string `json:"urn"`
	Title   string `json:"title,omitempty"`
	Href    string `json:"href"`
}

type indexBody struct {
	Schemas  []indexEntry `json:"schemas"`
	Forms    []formEntry  `json:"forms"`
	Envelope linkEntry    `json:"envelope"`
	Defs     linkEntry    `json:"defs"`
}

func (r *Registry) buildIndex() error {
	body := indexBody{
		Schemas:  make([]indexEntry, 0, len(r.infos)),
		Envelope: linkEntry{EnvelopeURN, PathPrefix + "/envelope"},
		Defs:     linkEntry{DefsURN, PathPrefix + "/defs"},
	}
	for _, in := range r.infos {
		body.Schemas = append(body.Schemas, indexEntry{in.Type, in.Version, in.URN, PathPrefix + "/" + in.Type + "/v" + strconv.Itoa(in.Version)})
	}
	body.Forms = make([]formEntry, 0, len(r.formInfos))
	for _, f := range r.formInfos {
		body.Forms = append(body.Forms, formEntry{f.Name, f.Version, f.URN, f.Title, PathPrefix + "/forms/" + f.Name + "/v" + strconv.Itoa(f.Version)})
	}
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		return fmt.Errorf("schema index: %w", err)
	}
	r.index = append(b, '\n')
	sum := sha256.Sum256(r.index)
	r.indexTag = `"` + hex.EncodeToString(sum[:]) + `"`
	return nil
}

// Handler serves the schemas read-only:
//
//	GET /v1/schemas                  index {schemas:[{type,version,urn,href}], envelope, defs}
//	GET /v1/schemas/<type>/v<N>      one data schema (application/schema+json)
//	GET /v1/schemas/envelope, /defs  the envelope schema, the shared definitions
//	GET /v1/schemas/forms/<name>/v<N> one form schema (a procedure's form, a step's outputs)
//
// Unknown names get a 404 problem, other methods than GET and HEAD a 405.
// Responses carry an ETag (the SHA-256 of the body) and honour If-None-Match.
func (r *Registry) Handler() http.Handler { return http.HandlerFunc(r.serveHTTP) }

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, PathPrefix)
	if !ok || (rest != "" && rest[0] != '/') {
		problem.Send(w, http.StatusNotFound, problem.NotFound, "no such schema path")
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		problem.Send(w, http.StatusMethodNotAllowed, problem.MethodNotAllowed, "schemas are read-only: use GET")
		return
	}
	name := strings.TrimPrefix(rest, "/")
	if name == "" {
		serveBody(w, req, r.index, r.indexTag, "application/json")
		return
	}
	d, ok := r.docs[name]
	if !ok {
		problem.Send(w, http.StatusNotFound, problem.NotFound, fmt.Sprintf("no schema %q; GET %s lists them", name, PathPrefix))
		return
	}
	serveBody(w, req, d.raw, d.etag, "application/schema+json")
}

func serveBody(w http.ResponseWriter, req *http.Request, body []byte, etag, contentType string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatch(req.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
