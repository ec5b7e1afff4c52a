package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// testPKI is a throwaway certificate authority for the TLS tests.
type testPKI struct {
	t      testing.TB
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CAFile string
	Pool   *x509.CertPool
	serial atomic.Int64
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lienthong test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(2 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{t: t, dir: t.TempDir(), ca: ca, caKey: key, Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	p.serial.Store(1)
	p.CAFile = p.write("ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issued is a certificate with its key, as files and as a tls.Certificate.
type issued struct {
	CertFile, KeyFile string
	Cert              tls.Certificate
}

// server issues a server certificate for 127.0.0.1.
func (p *testPKI) server(name string) issued {
	return p.issue(name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// client issues a client certificate with the given CN and URI SANs.
func (p *testPKI) client(name, cn string, uris ...string) issued {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			p.t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	return p.issue(name, tmpl)
}

func (p *testPKI) issue(name string, tmpl *x509.Certificate) issued {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(p.serial.Add(1))
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return issued{
		CertFile: p.write(name+".pem", "CERTIFICATE", der),
		KeyFile:  p.write(name+"-key.pem", "EC PRIVATE KEY", kder),
		Cert:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
}

// httpsClient trusts the test CA and presents cert when given.
func (p *testPKI) httpsClient(cert *issued) *http.Client {
	tc := &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{cert.Cert}
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

// secEnv is lienthong in-process with a config the test adjusted.
type secEnv struct {
	base   string
	app    *app.App
	client *http.Client
}

// startWith runs lienthong in-process on testConfig plus extra top-level
// YAML (e.g. an http: section), with edit applied to the YAML first when
// given, and waits until /readyz answers 200 through client.
func startWith(t testing.TB, extra string, edit func(string) string, client *http.Client, log *slog.Logger, roles ...string) *secEnv {
	t.Helper()
	dir := t.TempDir()
	text := testConfig(t, dir, kafkatest.Brokers(), kafkatest.Prefix()) + extra
	if edit != nil {
		text = edit(text)
	}
	cfg, err := config.Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, app.Options{Roles: roles, Listener: ln, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
		defer c()
		a.Stop(sctx)
	})
	scheme := "http://"
	if cfg.HTTP.TLS.Enabled() {
		scheme = "https://"
	}
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	e := &secEnv{base: scheme + a.Addr(), app: a, client: client}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do sends a request with the token of tokenKey ("" for none) and returns
// the status, the headers and the raw body.
func do(t testing.TB, c *http.Client, method, u, tokenKey string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/cloudevents+json")
	}
	if tokenKey != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[tokenKey])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// problemType returns the "type" of a problem+json body, checking the
// content type.
func problemType(t testing.TB, h http.Header, raw []byte) string {
	t.Helper()
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %q, want application/problem+json (body %s)", ct, raw)
	}
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Errorf("problem body %s: %v", raw, err)
	}
	return p.Type
}
