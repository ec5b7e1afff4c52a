package config

import (
	"errors"
	"strings"
	"testing"
)

// The tracing section: off when left out, a collector's base URL when set,
// and a bad endpoint named by its path.
func TestTracingSection(t *testing.T) {
	parse := func(extra string) (*Config, error) {
		return ParseWith([]byte(base+extra), "tracing.yaml", envOf(baseEnv))
	}
	c, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing != (Tracing{}) {
		t.Errorf("tracing without the section = %+v, want the zero value (off)", c.Tracing)
	}
	c, err = parse("tracing:\n  otlp_endpoint: \"https://otel.example.gov.vn:4318\"\n  service_name: lienthong-hcm\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.OTLPEndpoint != "https://otel.example.gov.vn:4318" || c.Tracing.ServiceName != "lienthong-hcm" {
		t.Errorf("tracing = %+v", c.Tracing)
	}
	for _, tt := range []struct{ doc, path, msg string }{
		{"tracing: { otlp_endpoint: \"otel-collector:4318\" }\n", "tracing.otlp_endpoint", "http://"},
		{"tracing: { otlp_endpoint: \"grpc://otel:4317\" }\n", "tracing.otlp_endpoint", "OTLP/HTTP"},
		{"tracing: { otlp_endpoint: \"http://\" }\n", "tracing.otlp_endpoint", "base URL"},
		{"tracing: { otlp_endpoint: \"http://u:secret@otel:4318\" }\n", "tracing.otlp_endpoint", "OTEL_EXPORTER_OTLP_HEADERS"},
		{"tracing: { service_name: \" \" }\n", "tracing.service_name", "must not be empty"},
		{"tracing: { endpoint: \"http://otel:4318\" }\n", "tracing.endpoint", "known fields here: otlp_endpoint, service_name"},
	} {
		_, err := parse(tt.doc)
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 {
			t.Fatalf("%q: err = %v, want one problem", tt.doc, err)
		}
		if p := ve.Problems[0]; p.Path != tt.path || !strings.Contains(p.Message, tt.msg) || p.Line == 0 {
			t.Errorf("%q: problem %v, want %s saying %q", tt.doc, p, tt.path, tt.msg)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the problem shows the credentials: %v", err)
		}
	}
}
