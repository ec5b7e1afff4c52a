package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIServedAndAuthMatches: a running lienthong serves its OpenAPI
// document at GET /v1/openapi.json without credentials, like the schemas,
// and the document tells the truth about authentication: every operation
// it marks public answers without a token, every other one answers 401
// unauthorized (problem+json) without one.
func TestOpenAPIServedAndAuthMatches(t *testing.T) {
	e := startApp(t)
	res, err := http.Get(e.base + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == "" {
		t.Fatalf("GET /v1/openapi.json without a token: %d %s", res.StatusCode, body)
	}
	var doc struct {
		OpenAPI string
		Paths   map[string]map[string]struct {
			Security *[]any
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("not an OpenAPI 3.1 document: %v %q", err, doc.OpenAPI)
	}
	fill := strings.NewReplacer("{code}", "HCC", "{id}", "some-id", "{type}", "dossier.submitted", "v{version}", "v1", "{name}", "1.004227")
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	checked := 0
	for _, p := range paths {
		for method, op := range doc.Paths[p] {
			if p == "/v1/agencies/{code}/inbox" || p == "/readyz" {
				// The feed long-polls and readiness may wait for Kafka; both
				// are covered by their own tests. Credentials are checked
				// before either does anything, so 401 stays quick.
				if op.Security != nil && len(*op.Security) == 0 {
					continue
				}
			}
			req, _ := http.NewRequest(strings.ToUpper(method), e.base+fill.Replace(p), nil)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			public := op.Security != nil && len(*op.Security) == 0
			switch {
			case public && r.StatusCode == http.StatusUnauthorized:
				t.Errorf("%s %s is documented public but answers 401", method, p)
			case !public && (r.StatusCode != http.StatusUnauthorized || r.Header.Get("Content-Type") != "application/problem+json"):
				t.Errorf("%s %s is documented as needing a token but answers %d %s without one", method, p, r.StatusCode, r.Header.Get("Content-Type"))
			}
			checked++
		}
	}
	if checked < 15 {
		t.Errorf("only %d operations checked", checked)
	}
}
