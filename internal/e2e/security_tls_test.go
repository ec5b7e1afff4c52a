package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
	"github.com/lienthong/lienthong/internal/testpki"
)

// HTTPS without client certificates: agencies reach the API over TLS with a
// bearer token; plain HTTP on the TLS port gets nowhere.
func TestSecurityHTTPS(t *testing.T) {
	pki := testpki.New(t)
	srv := pki.Server("server")
	extra := fmt.Sprintf("http:\n  tls: { cert_file: %q, key_file: %q }\n", srv.CertFile, srv.KeyFile)
	c := pki.HTTPSClient(nil)
	e := startWith(t, extra, nil, c, nil, app.RoleGateway)

	st, _, raw := do(t, c, http.MethodPost, e.base+"/v1/events", "HCC", mustJSON(submitted("tls-1", "HCC-20260303-0101")))
	if st != http.StatusAccepted {
		t.Fatalf("HTTPS POST: %d %s", st, raw)
	}
	if st, _, _ := do(t, c, http.MethodGet, e.base+"/v1/stats", "", nil); st != http.StatusUnauthorized {
		t.Errorf("no token over HTTPS: %d, want 401", st)
	}
	// A client that does not trust the CA fails the handshake.
	untrusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	if _, err := untrusting.Get(e.base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server certificate: err = %v", err)
	}
	// Plain HTTP to the TLS port is not served.
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + e.app.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the HTTPS port answered 200")
		}
	}
}

// mTLS: with require_client_cert a caller needs a certificate from the
// client CA that names the same agency as its bearer token (CN, DNS SAN or
// URI SAN urn:lienthong:agency:<CODE>).
func TestSecurityMutualTLS(t *testing.T) {
	pki := testpki.New(t)
	srv := pki.Server("server")
	hccCN := pki.Client("hcc-cn", "HCC")
	hccURI := pki.Client("hcc-uri", "desk-01.hcc.example", "urn:lienthong:agency:HCC")
	vpdk := pki.Client("vpdk", "VPDK")
	admin := pki.Client("admin", "operator")
	// A certificate of another CA naming HCC is not accepted.
	other := testpki.New(t).Client("rogue", "HCC")

	extra := fmt.Sprintf("http:\n  tls: { cert_file: %q, key_file: %q, client_ca_file: %q, require_client_cert: true }\n",
		srv.CertFile, srv.KeyFile, pki.CAFile)
	e := startWith(t, extra, nil, pki.HTTPSClient(&hccCN), nil, app.RoleGateway)

	t.Run("no client certificate fails the handshake", func(t *testing.T) {
		c := pki.HTTPSClient(nil)
		_, err := c.Get(e.base + "/healthz")
		if err == nil {
			t.Fatal("a client without a certificate was served")
		}
		t.Logf("refused: %v", err)
	})
	t.Run("certificate of another CA fails the handshake", func(t *testing.T) {
		c := pki.HTTPSClient(&other)
		if _, err := c.Get(e.base + "/healthz"); err == nil {
			t.Fatal("a certificate from an unknown CA was accepted")
		}
	})

	n := 0
	cases := []struct {
		name  string
		cert  testpki.Issued
		token string
		want  int
	}{
		{"VPDK certificate with HCC token", vpdk, "HCC", http.StatusUnauthorized},
		{"HCC certificate with VPDK token", hccCN, "VPDK", http.StatusUnauthorized},
		{"HCC certificate (CN) with HCC token", hccCN, "HCC", http.StatusAccepted},
		{"HCC certificate (URI SAN) with HCC token", hccURI, "HCC", http.StatusAccepted},
		{"HCC certificate without token", hccCN, "", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n++
			code := fmt.Sprintf("HCC-20260303-%04d", 200+n)
			st, h, raw := do(t, pki.HTTPSClient(&c.cert), http.MethodPost, e.base+"/v1/events", c.token,
				mustJSON(submitted(fmt.Sprintf("mtls-%d", n), code)))
			if st != c.want {
				t.Fatalf("status %d, want %d: %s", st, c.want, raw)
			}
			if st == http.StatusUnauthorized {
				if pt := problemType(t, h, raw); pt != "urn:lienthong:problem:unauthorized" {
					t.Errorf("problem type %q", pt)
				}
				if h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
	// The admin token is not an agency's: any verified client certificate
	// carries it (the certificate only has to name agencies).
	t.Run("admin token with an operator certificate reads stats", func(t *testing.T) {
		st, _, raw := do(t, pki.HTTPSClient(&admin), http.MethodGet, e.base+"/v1/stats", "admin", nil)
		if st != http.StatusOK {
			t.Fatalf("admin: %d %s", st, raw)
		}
	})
	// Nothing refused reached Kafka: exactly the two accepted submissions.
	if got := countRecords(t, e.app.Bus, kafkabus.TopicEvents); got != 2 {
		t.Errorf("events topic holds %d records, want 2", got)
	}
}

// A full lienthong against a broker that demands TLS and SCRAM-SHA-512, the
// password read from the environment as the config says: an event is
// accepted, routed and lands in the step agency's pull inbox.
func TestSecurityKafkaTLSAndSCRAMEndToEnd(t *testing.T) {
	pki := testpki.New(t)
	bsrv := pki.Server("broker")
	const pw = "kafka-p4ss-for-the-test"
	emb, err := embedded.Start(embedded.Options{
		SASL: map[string]map[string]string{"SCRAM-SHA-512": {"lienthong": pw}},
		TLS:  &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{bsrv.Cert}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	t.Setenv("LIENTHONG_TEST_KAFKA_PASSWORD", pw)
	edit := func(s string) string {
		// Point the kafka section at the secured broker, whatever
		// testConfig chose.
		i := strings.Index(s, "kafka:\n")
		j := strings.Index(s, "calendar:\n")
		kafka := fmt.Sprintf(`kafka:
  brokers: [%q]
  topic_prefix: "sec."
  partitions: 2
  replication_factor: 1
  tls: { enabled: true, ca_file: %q }
  sasl: { mechanism: SCRAM-SHA-512, username: lienthong, password_env: LIENTHONG_TEST_KAFKA_PASSWORD }
`, emb.Addr(), pki.CAFile)
		return s[:i] + kafka + s[j:]
	}
	e := startWith(t, "", edit, nil, nil)
	if e.app.Embedded != nil {
		t.Fatal("lienthong started its own broker instead of the configured one")
	}
	code := "HCC-20260303-0301"
	st, _, raw := do(t, e.client, http.MethodPost, e.base+"/v1/events", "HCC", mustJSON(submitted("kafka-sec-1", code)))
	if st != http.StatusAccepted {
		t.Fatalf("POST: %d %s", st, raw)
	}
	// The router ran over the secured broker: VPDK's inbox gets the
	// assignment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, _, raw := do(t, e.client, http.MethodGet, e.base+"/v1/agencies/VPDK/inbox?wait=2s", "VPDK", nil)
		if st != http.StatusOK {
			t.Fatalf("inbox: %d %s", st, raw)
		}
		if strings.Contains(string(raw), `"dossier.assigned"`) && strings.Contains(string(raw), code) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dossier.assigned for %s in VPDK's inbox: %s", code, raw)
		}
	}
}
