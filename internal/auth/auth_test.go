package auth

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
)

// countingDir is a Directory over fixed tokens that counts the hashes a
// lookup compares, to show the authenticator leaves the search to the
// directory and the directory looks at every entry.
type countingDir struct {
	agencies []config.Agency
	hashes   [][32]byte
	admin    [32]byte
	compared int
}

func newCountingDir(tokens map[string]string, admin string) *countingDir {
	d := &countingDir{admin: sha256.Sum256([]byte(admin))}
	for code, tok := range tokens {
		d.agencies = append(d.agencies, config.Agency{Code: code})
		d.hashes = append(d.hashes, sha256.Sum256([]byte(tok)))
	}
	return d
}

func (d *countingDir) AgencyByTokenHash(sum [32]byte) (*config.Agency, bool) {
	idx := -1
	for i := range d.hashes {
		d.compared++
		if d.hashes[i] == sum && idx < 0 {
			idx = i
		}
	}
	if idx < 0 {
		return nil, false
	}
	return &d.agencies[idx], true
}

func (d *countingDir) IsAdminTokenHash(sum [32]byte) bool { return sum == d.admin }

func cert(cn string, dns []string, uris ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		c.URIs = append(c.URIs, pu)
	}
	return c
}

func TestAuthenticate(t *testing.T) {
	toks := map[string]string{"HCC": "tok-hcc", "VPDK": "tok-vpdk", "000.00.01.H22": "tok-h22"}
	cases := []struct {
		name        string
		header      string
		peer        *x509.Certificate // nil: no client certificate
		requireCert bool
		want        Principal
		wantWhy     string // substring of the refusal; "" = accepted
	}{
		{"agency token", "Bearer tok-hcc", nil, false, Principal{Agency: "HCC"}, ""},
		{"scheme is case-insensitive", "bearer tok-vpdk", nil, false, Principal{Agency: "VPDK"}, ""},
		{"token surrounded by spaces", "Bearer   tok-hcc  ", nil, false, Principal{Agency: "HCC"}, ""},
		{"national agency id", "Bearer tok-h22", nil, false, Principal{Agency: "000.00.01.H22"}, ""},
		{"admin token", "Bearer tok-admin", nil, false, Principal{Admin: true}, ""},
		{"no header", "", nil, false, Principal{}, "Authorization: Bearer"},
		{"basic scheme", "Basic dG9rLWhjYzo=", nil, false, Principal{}, "Authorization: Bearer"},
		{"empty bearer", "Bearer ", nil, false, Principal{}, "Authorization: Bearer"},
		{"unknown token", "Bearer tok-nobody", nil, false, Principal{}, "not valid"},
		{"token of one agency with a prefix", "Bearer tok-hccX", nil, false, Principal{}, "not valid"},
		{"cert CN names the agency", "Bearer tok-hcc", cert("HCC", nil), true, Principal{Agency: "HCC"}, ""},
		{"cert DNS SAN names the agency", "Bearer tok-hcc", cert("desk", []string{"HCC"}), true, Principal{Agency: "HCC"}, ""},
		{"cert URI SAN names the agency", "Bearer tok-hcc", cert("desk", nil, "urn:lienthong:agency:HCC"), true, Principal{Agency: "HCC"}, ""},
		{"cert of another agency", "Bearer tok-hcc", cert("VPDK", nil, "urn:lienthong:agency:VPDK"), true, Principal{}, "does not name"},
		{"cert URI SAN of a longer code", "Bearer tok-hcc", cert("x", nil, "urn:lienthong:agency:HCCX"), false, Principal{}, "does not name"},
		{"cert checked even when not required", "Bearer tok-hcc", cert("VPDK", nil), false, Principal{}, "does not name"},
		{"cert required, none given", "Bearer tok-hcc", nil, true, Principal{}, "certificate naming the agency is required"},
		{"admin with any verified cert", "Bearer tok-admin", cert("operator", nil), true, Principal{Admin: true}, ""},
		{"admin without cert where required", "Bearer tok-admin", nil, true, Principal{Admin: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newCountingDir(toks, "tok-admin")
			a := New(d)
			a.RequireClientCert = c.requireCert
			r := httptest.NewRequest(http.MethodGet, "/v1/stats", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			if c.peer != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.peer}}
			}
			p, why := a.Authenticate(r)
			if c.wantWhy == "" && why != "" {
				t.Fatalf("refused: %s", why)
			}
			if c.wantWhy != "" && !strings.Contains(why, c.wantWhy) {
				t.Fatalf("why = %q, want it to contain %q", why, c.wantWhy)
			}
			if p != c.want {
				t.Fatalf("principal %+v, want %+v", p, c.want)
			}
			// Once a bearer token is presented, every agency hash is
			// compared, whether or not one matches and wherever it is.
			if strings.HasPrefix(strings.ToLower(c.header), "bearer ") && len(c.header) > len("bearer ") && d.compared != len(toks) {
				t.Errorf("compared %d hashes, want all %d", d.compared, len(toks))
			}
			// The token is never echoed in the refusal.
			if tok := strings.TrimSpace(strings.TrimPrefix(c.header, "Bearer ")); why != "" && tok != "" && strings.Contains(why, tok) {
				t.Errorf("refusal echoes the token: %q", why)
			}
		})
	}
}

// The middleware answers 401 problem+json with a WWW-Authenticate challenge
// and never calls the next handler; an accepted caller reaches it with its
// Principal in the context.
func TestMiddleware(t *testing.T) {
	a := New(newCountingDir(map[string]string{"HCC": "tok-hcc"}, "tok-admin"))
	var got *Principal
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			t.Error("no principal in the context")
		}
		got = &p
	}))
	r := httptest.NewRequest(http.MethodGet, "/v1/stats", nil)
	r.Header.Set("Authorization", "Bearer wrong-token")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || got != nil {
		t.Fatalf("bad token: %d, next called %v", w.Code, got != nil)
	}
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("headers %v", w.Header())
	}
	var pb struct{ Type string }
	if err := json.Unmarshal(w.Body.Bytes(), &pb); err != nil || pb.Type != "urn:lienthong:problem:unauthorized" {
		t.Errorf("body %s", w.Body)
	}
	if strings.Contains(w.Body.String(), "wrong-token") {
		t.Errorf("401 body echoes the token: %s", w.Body)
	}
	r.Header.Set("Authorization", "Bearer tok-hcc")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || got == nil || got.Agency != "HCC" {
		t.Fatalf("good token: %d, principal %+v", w.Code, got)
	}
}

// config.AgencyByTokenHash (constant-time, no early exit) finds every
// agency wherever it sits in the list, the first and the last included,
// and nothing for a near miss.
func TestConfigTokenLookup(t *testing.T) {
	cfg, err := config.ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	dev := config.ExampleDevTokens()
	a := New(cfg)
	if len(cfg.Agencies) < 2 {
		t.Fatal("the example config needs several agencies for this test")
	}
	for _, ag := range cfg.Agencies {
		tok, ok := dev[ag.Code]
		if !ok {
			continue
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, why := a.Authenticate(r)
		if why != "" || p.Agency != ag.Code || p.Admin {
			t.Errorf("token of %s: principal %+v, %q", ag.Code, p, why)
		}
		// One character off matches nothing.
		r.Header.Set("Authorization", "Bearer "+tok[:len(tok)-1]+"?")
		if p, why := a.Authenticate(r); why == "" {
			t.Errorf("near miss of %s accepted as %+v", ag.Code, p)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+dev["admin"])
	if p, why := a.Authenticate(r); why != "" || !p.Admin || p.Agency != "" {
		t.Errorf("admin token: %+v %q", p, why)
	}
	if _, ok := cfg.AgencyByTokenHash([32]byte{}); ok {
		t.Error("the zero hash matched an agency")
	}
}
