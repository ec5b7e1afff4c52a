package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/schemas"
)

// The index keeps the window only: records older than it are not taken in,
// pruning forgets what ages out, and a code it forgot is free in the index
// (the store answers for it).
func TestIndexWindow(t *testing.T) {
	ix := NewIndex()
	ix.SetWindow(time.Hour)
	rec := func(id, code string, at time.Time) kafka.Message {
		v := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"urn:lienthong:agency:HCC","type":"dossier.submitted","subject":%q}`, id, code)
		return kafka.Message{Value: []byte(v), Time: at, Headers: []kafka.Header{{Key: kafkabus.HeaderAcceptedAt, Value: []byte(at.Format(time.RFC3339Nano))}}}
	}
	now := time.Now()
	ix.Observe(rec("old", "HCC-20260303-0001", now.Add(-2*time.Hour)))
	ix.Observe(rec("mid", "HCC-20260303-0002", now.Add(-30*time.Minute)))
	ix.Observe(rec("new", "HCC-20260303-0003", now))
	if n := ix.Len(); n != 2 {
		t.Fatalf("index holds %d events, want 2 (the old one is outside the window)", n)
	}
	if ix.knownCode("HCC-20260303-0001") || !ix.knownCode("HCC-20260303-0002") {
		t.Fatal("codes do not follow the window")
	}
	if n := ix.Prune(now.Add(-10 * time.Minute)); n != 1 || ix.Len() != 1 || ix.knownCode("HCC-20260303-0002") {
		t.Fatalf("prune removed %d, %d left", n, ix.Len())
	}
}

// A code older than the window is checked in the store (PastCodes): 409
// when the store holds it; a code dated inside the window is never asked
// about (the index has any earlier submission of it).
func TestPastCodes(t *testing.T) {
	cfg, err := config.ExampleConfig()
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	g := New(Options{Config: cfg, Schemas: schemas.MustLoad(), Writer: &memWriter{}, Topic: "events", Index: NewIndex(),
		Window: 7 * 24 * time.Hour,
		PastCodes: func(_ context.Context, codes []string) (map[string]bool, error) {
			asked = append(asked, codes...)
			return map[string]bool{"HCC-20200303-0001": true}, nil
		}})
	post := func(code string) int {
		body := fmt.Sprintf(`{"specversion":"1.0","id":"id-%s","source":"urn:lienthong:agency:HCC","type":"dossier.submitted","subject":%q,"time":"2026-03-03T08:15:00+07:00",
"data":{"code":%q,"procedure":"1.004227","applicant":{"full_name":"Nguyễn Văn A","id_number":"001190012345"},"documents":[],"received_at":"2026-03-03T08:10:00+07:00","channel":"direct",
"form":{"parcel":{"sheet_number":12,"parcel_number":345,"area_m2":120.5,"address":"Thôn 1, xã Đức Ninh","purpose":"ONT"},
"certificate":{"serial_number":"CS 123456","issued_on":"2019-05-20"},"change":{"kind":"transfer"}}}}`, code, code, code)
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Agency: "HCC"}))
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code >= 300 && rec.Code != http.StatusConflict {
			t.Fatalf("%s: %d %s", code, rec.Code, rec.Body)
		}
		return rec.Code
	}
	if code := post("HCC-20200303-0001"); code != http.StatusConflict {
		t.Errorf("a code the store holds: %d", code)
	}
	if code := post("HCC-20200303-0002"); code != http.StatusAccepted {
		t.Errorf("an old code the store does not hold: %d", code)
	}
	fresh := "HCC-" + time.Now().Format("20060102") + "-0001"
	if code := post(fresh); code != http.StatusAccepted {
		t.Errorf("a fresh code: %d", code)
	}
	if fmt.Sprint(asked) != "[HCC-20200303-0001 HCC-20200303-0002]" {
		t.Errorf("the store was asked about %v", asked)
	}
}
