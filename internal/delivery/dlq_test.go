package delivery_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/adapters/adaptertest"
	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// dept is a department system that refuses (400) the events of the dossiers
// in refuse, and records what it accepts.
type dept struct {
	mu     sync.Mutex
	refuse map[string]bool
	got    []string
}

func (d *dept) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct{ ID, Subject string }
	_ = json.Unmarshal(body, &ev)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse[ev.Subject] {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d.got = append(d.got, ev.ID)
	w.WriteHeader(http.StatusOK)
}

func (d *dept) received() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[string]int{}
	for _, id := range d.got {
		m[id]++
	}
	return m
}

func api(t *testing.T, h http.Handler, method, path, token string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if token == "admin" {
		r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Admin: true}))
	} else if token != "" {
		r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Agency: token}))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// A 400 for one dossier dead-letters its events while the other dossiers
// keep flowing; the admin lists them, replays one, then all, and they arrive.
func TestDeadLetterListAndReplay(t *testing.T) {
	b := kafkatest.Start(t, 2, "VPDK", "THUE")
	bad := adaptertest.Dossier(1)
	sys := &dept{refuse: map[string]bool{bad: true}}
	srv := httptest.NewServer(sys)
	defer srv.Close()
	d, err := webhook.New(webhook.Options{URL: srv.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c := adaptertest.Cluster{Brokers: b.Brokers(), Prefix: b.Options().TopicPrefix}
	total := adaptertest.Publish(t, c, "VPDK", 4, 3)
	reg := prometheus.NewRegistry()
	prom, err := delivery.NewPrometheus(reg)
	if err != nil {
		t.Fatal(err)
	}
	o := adaptertest.Options()
	o.Metrics = prom
	adaptertest.Start(t, c, "VPDK", d, o)
	waitFor(t, "the other dossiers", func() bool { return len(sys.received()) == total-3 })
	waitFor(t, "the metrics", func() bool {
		return counter(t, reg, "lienthong_delivery_delivered_total") == float64(total-3) &&
			counter(t, reg, "lienthong_delivery_dead_letters_total") == 3
	})

	dlq := delivery.NewDLQ(b, []string{"THUE", "VPDK"})
	mux := http.NewServeMux()
	dlq.Routes(mux)
	var items []any
	waitFor(t, "three dead letters", func() bool {
		code, body := api(t, mux, "GET", "/v1/dlq?agency=VPDK", "admin")
		if code != 200 {
			t.Fatalf("list: %d %v", code, body)
		}
		items, _ = body["items"].([]any)
		return len(items) == 3
	})
	first := items[0].(map[string]any)
	if first["agency"] != "VPDK" || first["last_status"] != float64(400) || first["attempts"] != float64(1) ||
		!strings.HasPrefix(first["error"].(string), "urn:lienthong:problem:delivery-rejected") || first["failed_at"] == "" {
		t.Fatalf("item %v", first)
	}
	if ev, _ := first["event"].(map[string]any); ev["subject"] != bad {
		t.Fatalf("item event %v", first["event"])
	}

	// Only the admin; unknown ids and agencies are 404.
	if code, _ := api(t, mux, "GET", "/v1/dlq", "VPDK"); code != 403 {
		t.Errorf("agency listing dead letters: %d", code)
	}
	if code, _ := api(t, mux, "POST", "/v1/dlq/"+bad+"%2F1/replay", "VPDK"); code != 403 {
		t.Errorf("agency replaying: %d", code)
	}
	if code, _ := api(t, mux, "GET", "/v1/dlq", ""); code != 401 {
		t.Errorf("no principal: %d", code)
	}
	if code, _ := api(t, mux, "POST", "/v1/dlq/nope/replay", "admin"); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
	if code, _ := api(t, mux, "GET", "/v1/dlq?agency=NOPE", "admin"); code != 404 {
		t.Errorf("unknown agency: %d", code)
	}
	if code, _ := api(t, mux, "POST", "/v1/dlq/replay", "admin"); code != 400 {
		t.Errorf("replay all without agency: %d", code)
	}

	// The system is fixed; replay one by id (no agency given), then the rest.
	sys.mu.Lock()
	sys.refuse = nil
	sys.mu.Unlock()
	id1 := bad + "/1"
	code, body := api(t, mux, "POST", "/v1/dlq/"+strings.ReplaceAll(id1, "/", "%2F")+"/replay", "admin")
	if code != 200 {
		t.Fatalf("replay: %d %v", code, body)
	}
	waitFor(t, "the replayed event", func() bool { return sys.received()[id1] == 1 })
	code, body = api(t, mux, "GET", "/v1/dlq", "admin")
	if n := len(body["items"].([]any)); code != 200 || n != 2 {
		t.Fatalf("after one replay: %d, %d items", code, n)
	}
	code, body = api(t, mux, "POST", "/v1/dlq/replay?agency=VPDK", "admin")
	if code != 200 || len(body["replayed"].([]any)) != 2 {
		t.Fatalf("replay all: %d %v", code, body)
	}
	waitFor(t, "every event", func() bool { return len(sys.received()) == total })
	for id, n := range sys.received() {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if _, body = api(t, mux, "GET", "/v1/dlq?agency=VPDK", "admin"); len(body["items"].([]any)) != 0 {
		t.Fatalf("items left after replaying all: %v", body["items"])
	}
}

// counter sums a counter family of reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
