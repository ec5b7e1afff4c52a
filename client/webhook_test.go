package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
)

var secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123"))

// signed returns a delivery as lienthong's webhook driver signs it.
func signed(t *testing.T, id string, ts time.Time, body []byte) http.Header {
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(client.HeaderWebhookID, id)
	h.Set(client.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(client.HeaderWebhookSignature, webhook.Sign(key, id, ts.Unix(), body))
	return h
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"specversion":"1.0","id":"e1","source":"urn:lienthong:router","type":"dossier.assigned","subject":"HCC-20260303-0001","data":{}}`)
	now := time.Now()
	if err := client.VerifyWebhook(secret, signed(t, "e1", now, body), body); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	for name, h := range map[string]http.Header{
		"body changed": signed(t, "e1", now, append([]byte(" "), body...)),
		"id changed": func() http.Header {
			h := signed(t, "e1", now, body)
			h.Set(client.HeaderWebhookID, "e2")
			return h
		}(),
		"an hour old":  signed(t, "e1", now.Add(-time.Hour), body),
		"no signature": {client.HeaderWebhookID: {"e1"}, client.HeaderWebhookTimestamp: {strconv.FormatInt(now.Unix(), 10)}},
	} {
		if err := client.VerifyWebhook(secret, h, body); !errors.Is(err, client.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
}

func TestWebhookHandler(t *testing.T) {
	var got []string
	fail := false
	h, err := client.WebhookHandler(secret, func(_ context.Context, ev event.Event) error {
		if fail {
			return errors.New("database down")
		}
		got = append(got, ev.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"specversion":"1.0","id":"e1","source":"urn:lienthong:router","type":"dossier.assigned","subject":"HCC-20260303-0001","data":{}}`)
	post := func(hdr http.Header, b []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(b))
		req.Header = hdr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(signed(t, "e1", time.Now(), body), body); code != http.StatusNoContent || len(got) != 1 || got[0] != "e1" {
		t.Fatalf("good delivery: %d %v", code, got)
	}
	if code := post(signed(t, "e1", time.Now(), body), append(body, ' ')); code != http.StatusUnauthorized {
		t.Errorf("tampered delivery: %d", code)
	}
	notEvent := []byte(`{"hello":1}`)
	if code := post(signed(t, "x", time.Now(), notEvent), notEvent); code != http.StatusBadRequest {
		t.Errorf("not a CloudEvent: %d", code)
	}
	fail = true
	if code := post(signed(t, "e1", time.Now(), body), body); code != http.StatusInternalServerError {
		t.Errorf("handler failing: %d (lienthong must retry)", code)
	}
	if _, err := client.WebhookHandler("not-a-secret", nil); err == nil {
		t.Error("a bad secret is accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]client.Config{
		"no URL":      {Token: "t"},
		"bad URL":     {BaseURL: "ftp://x", Token: "t"},
		"no token":    {BaseURL: "http://x"},
		"bad retries": {BaseURL: "http://x", Token: "t", RetryMax: -2},
		"min > max":   {BaseURL: "http://x", Token: "t", RetryWaitMin: time.Minute, RetryWaitMax: time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := (client.Config{BaseURL: "https://lienthong.tinh.gov.vn", Token: "t"}).Validate(); err != nil {
		t.Error(err)
	}
}

// The client retries with webhook.Backoff: Retry-After is honoured but
// capped; otherwise the wait grows within its bounds.
func TestBackoff(t *testing.T) {
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}}
	if d := webhook.Backoff(time.Second, 30*time.Second, 1, resp); d != 3*time.Second {
		t.Errorf("Retry-After 3: %v", d)
	}
	resp.Header.Set("Retry-After", "1742000000")
	if d := webhook.Backoff(time.Second, 30*time.Second, 1, resp); d != 30*time.Second {
		t.Errorf("a huge Retry-After: %v, want the cap", d)
	}
	for attempt := 0; attempt < 40; attempt++ {
		if d := webhook.Backoff(time.Second, 30*time.Second, attempt, nil); d < time.Second || d > 30*time.Second {
			t.Fatalf("attempt %d: %v out of bounds", attempt, d)
		}
	}
}

func TestProblemIsBadCursor(t *testing.T) {
	p := &client.Problem{Type: problem.BadCursor.URN(), Status: 400}
	if !errors.Is(fmt.Errorf("consume: %w", p), problem.ErrBadCursor) {
		t.Fatal("a bad-cursor problem does not match problem.ErrBadCursor")
	}
	if errors.Is(&client.Problem{Type: problem.InvalidData.URN()}, problem.ErrBadCursor) {
		t.Fatal("another problem matches problem.ErrBadCursor")
	}
}
