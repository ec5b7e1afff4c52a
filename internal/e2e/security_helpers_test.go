package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

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
	a, err := app.Start(ctx, cfg, app.Options{Roles: roles, Listener: ln, Logger: log})
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
