package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/webhook"
)

func msg(id string) *adapters.Message {
	return &adapters.Message{ID: id, Subject: "HCC-20260303-0001", Body: []byte(`{"id":"` + id + `"}`), Attempt: 1, Agency: "VPDK"}
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		status     int
		retryAfter string
		wantNil    bool
		permanent  bool
		wantAfter  time.Duration
	}{
		{200, "", true, false, 0},
		{202, "", true, false, 0},
		{204, "", true, false, 0},
		{301, "", false, true, 0},
		{400, "", false, true, 0},
		{401, "", false, true, 0},
		{404, "", false, true, 0},
		{409, "", false, true, 0},
		{422, "", false, true, 0},
		{408, "", false, false, 0},
		{425, "", false, false, 0},
		{429, "7", false, false, 7 * time.Second},
		{500, "", false, false, 0},
		{501, "", false, false, 0},
		{503, "Tue, 03 Mar 2026 08:00:30 GMT", false, false, 30 * time.Second},
		{503, "999999", false, false, time.Hour}, // capped
		{503, "soon", false, false, 0},
		{504, "-5", false, false, 0},
		{400, "10", false, true, 0}, // Retry-After means nothing on a permanent answer
	}
	for _, c := range cases {
		err := webhook.Classify(c.status, c.retryAfter, now, time.Hour)
		if (err == nil) != c.wantNil {
			t.Errorf("%d: err = %v", c.status, err)
			continue
		}
		if err == nil {
			continue
		}
		if adapters.IsPermanent(err) != c.permanent {
			t.Errorf("%d: permanent = %v, want %v", c.status, adapters.IsPermanent(err), c.permanent)
		}
		if adapters.StatusOf(err) != c.status {
			t.Errorf("%d: StatusOf = %d", c.status, adapters.StatusOf(err))
		}
		if got := adapters.RetryAfterOf(err); got != c.wantAfter {
			t.Errorf("%d %q: RetryAfter = %s, want %s", c.status, c.retryAfter, got, c.wantAfter)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"Tue, 03 Mar 2026 08:01:00 GMT", time.Minute, true},
		{"Tue, 03 Mar 2026 07:00:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"tomorrow", 0, false},
	}
	for _, c := range cases {
		got, ok := webhook.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// Our signature is the one the official Standard Webhooks library makes.
func TestSignMatchesStandardWebhooks(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1772500000, 0)
	body := []byte(`{"specversion":"1.0","id":"e1"}`)
	want, err := wh.Sign("e1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Sign(key, "e1", ts.Unix(), body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []webhook.Options{
		{URL: "ftp://x/y", Secret: secret},
		{URL: "/relative", Secret: secret},
		{URL: "http://127.0.0.1:1/x", Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{URL: "http://127.0.0.1:1/x", Secret: "whsec_not base64!"},
		{URL: "http://127.0.0.1:1/x", Secret: "whsec_c2hvcnQ="},
	} {
		if _, err := webhook.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// Every request is signed and carries the CloudEvents content type; the
// official library verifies it (with its timestamp tolerance).
func TestDeliverSignsAndClassifies(t *testing.T) {
	r := newReceiver(t)
	d, err := webhook.New(webhook.Options{URL: r.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), msg("e-1")); err != nil {
		t.Fatal(err)
	}
	reqs := r.Requests()
	if len(r.Received()) != 1 || len(reqs) != 1 || reqs[0].Header.Get("webhook-id") != "e-1" || reqs[0].Header.Get("Idempotency-Key") != "e-1" {
		t.Fatalf("received %v requests %+v", r.Received(), reqs)
	}
}

// A request that takes longer than Timeout fails as transient, promptly.
func TestPerRequestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	d, err := webhook.New(webhook.Options{URL: srv.URL, Secret: secret, Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = d.Deliver(context.Background(), msg("e-slow"))
	el := time.Since(start)
	if err == nil || adapters.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if el > time.Second {
		t.Fatalf("took %s with a 150ms timeout", el)
	}
}

// Connection failures are transient; with InCallRetries the driver retries
// them inside one call, and never retries a status in-call.
func TestConnectionErrorsAndInCallRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens there any more
	d, err := webhook.New(webhook.Options{URL: url, Secret: secret, InCallRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Deliver(context.Background(), msg("e-down"))
	var se *adapters.StatusError
	if !errors.As(err, &se) || se.Status != 0 || adapters.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient StatusError with no status", err)
	}

	var calls atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer busy.Close()
	d2, _ := webhook.New(webhook.Options{URL: busy.URL, Secret: secret, InCallRetries: 2})
	err = d2.Deliver(context.Background(), msg("e-busy"))
	if adapters.StatusOf(err) != 429 || adapters.RetryAfterOf(err) != 3*time.Second {
		t.Fatalf("err = %v, want 429 with Retry-After 3s", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls: a status must go back to the engine, not be retried in-call", calls.Load())
	}
}

// InCallRetries retries a connection dropped without an answer inside one
// Deliver; with none, the failure goes back to the engine at once.
func TestInCallRetryOfDroppedConnection(t *testing.T) {
	for _, c := range []struct {
		retries   int
		wantErr   bool
		wantCalls int32
	}{{0, true, 1}, {1, false, 2}} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close() // no answer at all
				}
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		tr := &http.Transport{DisableKeepAlives: true} // a fresh connection each time: net/http itself does not retry
		d, err := webhook.New(webhook.Options{URL: srv.URL, Secret: secret, InCallRetries: c.retries, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Deliver(context.Background(), msg("e-drop"))
		srv.Close()
		if (err != nil) != c.wantErr || calls.Load() != c.wantCalls {
			t.Errorf("InCallRetries %d: err = %v, calls = %d; want error %v, calls %d", c.retries, err, calls.Load(), c.wantErr, c.wantCalls)
		}
		if err != nil && (adapters.IsPermanent(err) || adapters.StatusOf(err) != 0) {
			t.Errorf("a dropped connection must be transient with no status: %v", err)
		}
	}
}

// Backoff is adapters.Backoff in go-retryablehttp's shape: attempt 0 is the
// wait after the first failure (ceiling = min), attempt n doubles the
// ceiling n times, and the Retry-After of resp (seconds or an HTTP date)
// raises the wait, capped at max.
func TestBackoffIsTheSharedOne(t *testing.T) {
	min, max := 100*time.Millisecond, time.Second
	for i := 0; i < 20; i++ {
		if d := webhook.Backoff(min, max, 0, nil); d != min {
			t.Fatalf("attempt 0: %s, want %s", d, min)
		}
		if d := webhook.Backoff(min, max, 2, nil); d < min || d > 4*min {
			t.Fatalf("attempt 2: %s, want within [%s, %s]", d, min, 4*min)
		}
	}
	resp := &http.Response{Header: http.Header{"Retry-After": []string{time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)}}}
	if d := webhook.Backoff(min, max, 0, resp); d != max {
		t.Fatalf("Retry-After date beyond max: %s, want %s", d, max)
	}
	resp.Header.Set("Retry-After", "0")
	if d := webhook.Backoff(min, max, 0, resp); d != min {
		t.Fatalf("Retry-After 0: %s, want %s", d, min)
	}
}
