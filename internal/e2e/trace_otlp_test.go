package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/internal/telemetry/telemetrytest"
)

// With tracing configured, one dossier's spans reach an OTLP/HTTP collector
// as one trace, the caller's: the gateway's server span (child of the
// caller's span) with validate and write under it, the router's apply under
// write (through the Kafka record's header), the delivery's deliver under
// apply, and the webhook's traceparent is the deliver span's.
func TestTraceSpansExported(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // ms: export batches quickly
	rc := telemetrytest.NewReceiver(t)

	const code = "HCC-20260316-0001"
	var mu sync.Mutex
	var hook string // traceparent of the webhook carrying the dossier.assigned
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if client.VerifyWebhook(simSecrets["VPDK"], r.Header, raw) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.Contains(string(raw), `"subject":"`+code+`"`) && strings.Contains(string(raw), `dossier.assigned`) {
			mu.Lock()
			hook = r.Header.Get("traceparent")
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t.Setenv("VPDK_SECRET", simSecrets["VPDK"])
	e := startWith(t, "tracing:\n  otlp_endpoint: \""+rc.URL+"\"\n  service_name: lienthong-e2e\n", func(cfg string) string {
		lines := strings.Split(cfg, "\n")
		for i, l := range lines {
			if strings.Contains(l, "code: VPDK") {
				lines[i] = strings.Replace(l, "delivery: { mode: pull }", `delivery: { mode: webhook, url: "`+srv.URL+`", secret_env: VPDK_SECRET }`, 1)
			}
		}
		return strings.Join(lines, "\n")
	}, nil, nil)
	if !e.app.Tracing.Exporting() {
		t.Fatal("tracing configured but not exporting")
	}

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID, callerSpan := caller[3:35], caller[36:52]
	req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/events", strings.NewReader(string(mustJSON(submitted("otel-1", code)))))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Authorization", "Bearer "+tokens["HCC"])
	req.Header.Set("traceparent", caller)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	answered := resp.Header.Get("traceparent")

	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		h := hook
		mu.Unlock()
		if h != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook did not get the dossier.assigned")
		}
		time.Sleep(50 * time.Millisecond)
	}

	find := func(spans []telemetrytest.Span, name string, ok func(telemetrytest.Span) bool) (telemetrytest.Span, bool) {
		for _, s := range spans {
			if s.Name == name && s.TraceID == traceID && (ok == nil || ok(s)) {
				return s, true
			}
		}
		return telemetrytest.Span{}, false
	}
	isVPDK := func(s telemetrytest.Span) bool { return s.Attrs["lienthong.agency"] == "VPDK" }
	isSubmitted := func(s telemetrytest.Span) bool { return s.Attrs["cloudevents.event_type"] == "dossier.submitted" }
	spans := rc.WaitFor(t, 20*time.Second, "validate, write, apply and deliver spans of the caller's trace", func(spans []telemetrytest.Span) bool {
		for _, n := range []string{"POST /v1/events", "validate", "write"} {
			if _, ok := find(spans, n, nil); !ok {
				return false
			}
		}
		_, applied := find(spans, "apply", isSubmitted)
		_, delivered := find(spans, "deliver", isVPDK)
		return applied && delivered
	})
	server, _ := find(spans, "POST /v1/events", nil)
	validate, _ := find(spans, "validate", nil)
	write, _ := find(spans, "write", nil)
	apply, _ := find(spans, "apply", isSubmitted)
	deliver, _ := find(spans, "deliver", isVPDK)
	for _, link := range []struct {
		child, parent telemetrytest.Span
		parentName    string
	}{
		{server, telemetrytest.Span{SpanID: callerSpan}, "the caller's span"},
		{validate, server, "POST /v1/events"},
		{write, server, "POST /v1/events"},
		{apply, write, "write"},
		{deliver, apply, "apply"},
	} {
		if link.child.ParentID != link.parent.SpanID {
			t.Errorf("%s's parent is %s, want %s (%s)\n%s", link.child.Name, link.child.ParentID, link.parentName, link.parent.SpanID, telemetrytest.Dump(spans))
		}
	}
	if answered != "00-"+traceID+"-"+server.SpanID+"-01" {
		t.Errorf("answered traceparent %q, want the server span %s", answered, server.SpanID)
	}
	mu.Lock()
	if want := "00-" + traceID + "-" + deliver.SpanID + "-01"; hook != want {
		t.Errorf("webhook traceparent %q, want the deliver span's %q", hook, want)
	}
	mu.Unlock()
	if deliver.Attrs["lienthong.delivery.attempt"] != "1" || deliver.Attrs["lienthong.dossier.agency"] != "HCC" || deliver.Error {
		t.Errorf("deliver attributes %v error %v", deliver.Attrs, deliver.Error)
	}
	if validate.Attrs["lienthong.agency"] != "HCC" || write.Attrs["messaging.destination.name"] == "" || apply.Attrs["lienthong.outputs"] == "" {
		t.Errorf("attributes: validate %v write %v apply %v", validate.Attrs, write.Attrs, apply.Attrs)
	}
	for _, s := range spans {
		if s.Service != "lienthong-e2e" {
			t.Errorf("%s: service.name %q", s.Name, s.Service)
		}
		for k, v := range s.Attrs {
			if strings.Contains(v, code) || strings.Contains(v, "Nguyễn") || strings.Contains(v, "001190012345") {
				t.Errorf("%s: attribute %s=%q holds the dossier code or personal data", s.Name, k, v)
			}
		}
	}
}
