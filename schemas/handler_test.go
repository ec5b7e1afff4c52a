package schemas

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHandlerIndex(t *testing.T) {
	for _, path := range []string{"/v1/schemas", "/v1/schemas/"} {
		rec := get(t, http.MethodGet, path, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		var body struct {
			Schemas []struct {
				Type    string `json:"type"`
				Version int    `json:"version"`
				URN     string `json:"urn"`
				Href    string `json:"href"`
			} `json:"schemas"`
			Envelope struct{ URN, Href string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Schemas) != len(reg.List()) || body.Envelope.Href != "/v1/schemas/envelope" {
			t.Fatalf("index: %+v", body)
		}
		// Every href serves the document it names.
		for _, s := range body.Schemas {
			r := get(t, http.MethodGet, s.Href, nil)
			var doc map[string]any
			if r.Code != 200 || json.Unmarshal(r.Body.Bytes(), &doc) != nil || doc["$id"] != s.URN {
				t.Errorf("%s: %d, $id %v, want %s", s.Href, r.Code, doc["$id"], s.URN)
			}
		}
	}
}

func TestHandlerDocuments(t *testing.T) {
	for _, c := range []struct{ path, name string }{
		{"/v1/schemas/dossier.submitted/v1", "dossier.submitted/v1"},
		{"/v1/schemas/envelope", "envelope"},
		{"/v1/schemas/defs", "defs"},
	} {
		rec := get(t, http.MethodGet, c.path, nil)
		want, _ := reg.Document(c.name)
		if rec.Code != 200 || rec.Body.String() != string(want) {
			t.Fatalf("%s: %d, body %d bytes, want %d", c.path, rec.Code, rec.Body.Len(), len(want))
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/schema+json" {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		etag := rec.Header().Get("ETag")
		if len(etag) != 66 || rec.Header().Get("Cache-Control") == "" {
			t.Errorf("%s: ETag %q, Cache-Control %q", c.path, etag, rec.Header().Get("Cache-Control"))
		}
		if r := get(t, http.MethodGet, c.path, map[string]string{"If-None-Match": `"other", W/` + etag}); r.Code != http.StatusNotModified || r.Body.Len() != 0 {
			t.Errorf("%s: If-None-Match: %d with %d bytes", c.path, r.Code, r.Body.Len())
		}
		if r := get(t, http.MethodGet, c.path, map[string]string{"If-None-Match": `"other"`}); r.Code != 200 {
			t.Errorf("%s: stale If-None-Match: %d", c.path, r.Code)
		}
		if r := get(t, http.MethodHead, c.path, nil); r.Code != 200 || r.Body.Len() != 0 || r.Header().Get("Content-Length") != rec.Header().Get("Content-Length") {
			t.Errorf("%s: HEAD %d, %d bytes", c.path, r.Code, r.Body.Len())
		}
	}
	// Different documents have different ETags.
	a := get(t, http.MethodGet, "/v1/schemas/envelope", nil).Header().Get("ETag")
	b := get(t, http.MethodGet, "/v1/schemas/defs", nil).Header().Get("ETag")
	if a == b {
		t.Error("same ETag for two documents")
	}
}

func TestHandlerErrors(t *testing.T) {
	cases := []struct {
		method, path string
		code         int
		problem      string
	}{
		{http.MethodGet, "/v1/schemas/dossier.submitted/v9", 404, "urn:lienthong:problem:not-found"},
		{http.MethodGet, "/v1/schemas/dossier.teleported/v1", 404, "urn:lienthong:problem:not-found"},
		{http.MethodGet, "/v1/schemas/dossier.submitted", 404, "urn:lienthong:problem:not-found"},
		{http.MethodGet, "/v1/schemas/../defs.json", 404, "urn:lienthong:problem:not-found"},
		{http.MethodGet, "/v1/schemasx", 404, "urn:lienthong:problem:not-found"},
		{http.MethodPost, "/v1/schemas/envelope", 405, "urn:lienthong:problem:method-not-allowed"},
		{http.MethodDelete, "/v1/schemas", 405, "urn:lienthong:problem:method-not-allowed"},
	}
	for _, c := range cases {
		rec := get(t, c.method, c.path, nil)
		if rec.Code != c.code || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), c.problem) {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		if c.code == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, rec.Header().Get("Allow"))
		}
	}
}
