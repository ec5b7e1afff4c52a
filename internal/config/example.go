package config

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"os"
)

//go:embed example.yaml
var example []byte

// exampleSource names the built-in config in problems and logs.
const exampleSource = "built-in example config"

// exampleWebhookAgencies are the agencies of example.yaml with webhook delivery.
var exampleWebhookAgencies = []string{"VPDK", "THUE", "TP", "CA", "BHXH"}

// Example returns the built-in example config: what `lienthong serve` runs
// without --config, and the demo's. Its tokens and secrets are public
// development values (ExampleDevTokens, ExampleEnv).
func Example() []byte { return append([]byte(nil), example...) }

// ExampleDevTokens returns the plain development bearer tokens whose SHA-256
// hashes are in the example config, by agency code, and "admin" for the
// admin token, so that serve and demo can print them at start.
func ExampleDevTokens() map[string]string {
	m := map[string]string{"admin": "dev-token-admin"}
	for _, code := range []string{"HCC", "VPDK", "THUE", "TP", "CA", "BHXH"} {
		m[code] = "dev-token-" + code
	}
	return m
}

// DevWebhookSecret returns the deterministic development webhook secret of an
// agency: whsec_ and the base64 of SHA-256("lienthong-dev-webhook-secret:" +
// code), 32 bytes. Public: for the example config and tests only.
func DevWebhookSecret(code string) string {
	key := sha256.Sum256([]byte("lienthong-dev-webhook-secret:" + code))
	return "whsec_" + base64.StdEncoding.EncodeToString(key[:])
}

// ExampleEnv returns the development webhook secrets of the example config by
// environment variable name (VPDK_WEBHOOK_SECRET...).
func ExampleEnv() map[string]string {
	m := make(map[string]string, len(exampleWebhookAgencies))
	for _, code := range exampleWebhookAgencies {
		m[code+"_WEBHOOK_SECRET"] = DevWebhookSecret(code)
	}
	return m
}

// ExampleLookupEnv reads the process environment first and falls back to
// ExampleEnv, so the example config runs as is and a real secret still wins.
func ExampleLookupEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v, true
	}
	v, ok := ExampleEnv()[name]
	return v, ok
}

// ExampleConfig parses the built-in example config with ExampleLookupEnv.
// The resolved secrets are in Agencies[i].Delivery.Secret.
func ExampleConfig() (*Config, error) {
	return ParseWith(example, exampleSource, ExampleLookupEnv)
}
