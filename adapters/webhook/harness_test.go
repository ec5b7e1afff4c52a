package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/adaptertest"
	"github.com/lienthong/lienthong/adapters/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a department system on loopback that verifies every signature
// with the official Standard Webhooks library.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	respond func(adaptertest.Delivery) adaptertest.Outcome
	got     []adaptertest.Delivery
	calls   int
	headers []http.Header
}

func newReceiver(t testing.TB) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		if err := wh.Verify(body, req.Header); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
			t.Errorf("content-type %q", ct)
		}
		var ev struct{ ID, Subject string }
		_ = json.Unmarshal(body, &ev)
		if ev.ID != req.Header.Get("webhook-id") {
			t.Errorf("webhook-id %q for event %q", req.Header.Get("webhook-id"), ev.ID)
		}
		d := adaptertest.Delivery{ID: ev.ID, Subject: ev.Subject, Body: body}
		r.mu.Lock()
		r.calls++
		r.headers = append(r.headers, req.Header.Clone())
		f := r.respond
		r.mu.Unlock()
		out := adaptertest.Accept
		if f != nil {
			out = f(d)
		}
		switch out {
		case adaptertest.Accept:
			r.mu.Lock()
			r.got = append(r.got, d)
			r.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		case adaptertest.Transient:
			w.WriteHeader(http.StatusServiceUnavailable)
		case adaptertest.Reject:
			w.WriteHeader(http.StatusBadRequest)
		case adaptertest.Hang:
			<-req.Context().Done()
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) SetResponder(f func(adaptertest.Delivery) adaptertest.Outcome) {
	r.mu.Lock()
	r.respond = f
	r.mu.Unlock()
}

func (r *receiver) Received() []adaptertest.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]adaptertest.Delivery(nil), r.got...)
}

type harness struct{}

func (harness) MakeDriver(t *testing.T, agency string) (adapters.Driver, adaptertest.System) {
	r := newReceiver(t)
	d, err := webhook.New(webhook.Options{URL: r.srv.URL + "/events", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, r
}

func TestConformance(t *testing.T) { adaptertest.RunConformanceTests(t, harness{}) }
