package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/schemas"
)

// memWriter records writes; the fuzz target checks the decoder and the
// checks, not Kafka (the e2e tests use the real broker).
type memWriter struct {
	mu sync.Mutex
	n  int
}

func (w *memWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	w.n += len(msgs)
	w.mu.Unlock()
	return nil
}

// The envelope decoder and every check behind it never panic, answer only
// the contract's status codes, and give a catalogued problem type for every
// refusal; nothing refused is written.
func FuzzPostEvents(f *testing.F) {
	files, _ := filepath.Glob("../../schemas/testdata/*/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, "application/cloudevents+json")
			f.Add(append(append([]byte("["), b...), ']'), "application/cloudevents-batch+json")
			// The same event twice in a batch (it once hung the gateway).
			f.Add([]byte("["+string(b)+","+string(b)+"]"), "application/cloudevents-batch+json")
		}
	}
	f.Add([]byte(`{"specversion":"1.0"}`), "application/json")
	f.Add([]byte(`[1,{}]`), "application/json")
	f.Add([]byte(`"x"`), "text/plain; charset=utf-8")
	cfg, err := config.ExampleConfig()
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{}
	for t := range problem.Catalog() {
		known[t.URN()] = true
	}
	reg := schemas.MustLoad() // compiled once: the checks, not the compiler, are under test
	allowed := map[int]bool{200: true, 202: true, 400: true, 403: true, 409: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		w := &memWriter{}
		g := New(Options{Config: cfg, Schemas: reg, Writer: w, Topic: "events", Index: NewIndex(), MaxBodyBytes: 64 << 10})
		req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Agency: "HCC"}))
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code >= 400 {
			var d problem.Details
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || !known[d.Type] || d.Status != rec.Code {
				t.Fatalf("bad problem %d %s", rec.Code, rec.Body.String())
			}
			for _, e := range d.Errors {
				if e.Location != "" && !strings.HasPrefix(e.Location, "/") {
					t.Fatalf("location %q", e.Location)
				}
			}
			if w.n != 0 {
				t.Fatalf("refused (%d) but %d records written", rec.Code, w.n)
			}
		} else if rec.Code == http.StatusAccepted && w.n == 0 {
			t.Fatal("202 without a write")
		}
	})
}
