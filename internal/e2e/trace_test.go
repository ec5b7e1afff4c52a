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
)

// One dossier's trace goes from the POST to the agency's webhook: the
// caller's W3C trace id travels in the Kafka headers through the router and
// the delivery engine and arrives in the webhook's traceparent; a caller
// without one gets a new trace, in the answer's traceparent.
func TestTraceFollowsTheDossier(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // event subject -> traceparent of its dossier.assigned
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if client.VerifyWebhook(simSecrets["VPDK"], r.Header, raw) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		for _, code := range []string{"HCC-20260315-0001", "HCC-20260315-0002"} {
			if strings.Contains(string(raw), `"subject":"`+code+`"`) && strings.Contains(string(raw), `dossier.assigned`) {
				got[code] = r.Header.Get("traceparent")
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t.Setenv("VPDK_SECRET", simSecrets["VPDK"])
	e := startWith(t, "", func(cfg string) string {
		lines := strings.Split(cfg, "\n")
		for i, l := range lines {
			if strings.Contains(l, "code: VPDK") {
				lines[i] = strings.Replace(l, "delivery: { mode: pull }", `delivery: { mode: webhook, url: "`+srv.URL+`", secret_env: VPDK_SECRET }`, 1)
			}
		}
		return strings.Join(lines, "\n")
	}, nil, nil)

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	send := func(id, code, tp string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/events", strings.NewReader(string(mustJSON(submitted(id, code)))))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("Authorization", "Bearer "+tokens["HCC"])
		if tp != "" {
			req.Header.Set("traceparent", tp)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d", id, resp.StatusCode)
		}
		return resp.Header.Get("traceparent")
	}
	answered := send("tr-1", "HCC-20260315-0001", caller)
	if answered[:35] != caller[:35] || answered == caller {
		t.Fatalf("answer traceparent %q: want the caller's trace under a span of the gateway's", answered)
	}
	fresh := send("tr-2", "HCC-20260315-0002", "")
	if !strings.HasPrefix(fresh, "00-") || len(fresh) != 55 || fresh[3:35] == caller[3:35] {
		t.Fatalf("a new trace: %q", fresh)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		a, b := got["HCC-20260315-0001"], got["HCC-20260315-0002"]
		mu.Unlock()
		if a != "" && b != "" {
			if a[:35] != caller[:35] || b[:35] != fresh[:35] {
				t.Fatalf("webhook traceparents %q and %q, want traces %s and %s", a, b, caller[3:35], fresh[3:35])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook did not get both assignments with a traceparent: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
