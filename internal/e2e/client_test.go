package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
)

// toEvent turns a test event map into an event.Event.
func toEvent(t testing.TB, m map[string]any) event.Event {
	t.Helper()
	var ev event.Event
	if err := json.Unmarshal(mustJSON(m), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// The public client against a real server: post (one, a batch, a retry),
// typed problems with their location, tracking, and the pull inbox with a
// persisted cursor.
func TestClient(t *testing.T) {
	e := startApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hcc, err := client.New(client.Config{BaseURL: e.base, Token: tokens["HCC"], RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := client.New(client.Config{BaseURL: e.base, Token: tokens["admin"]})

	first := toEvent(t, submitted("cl-1", "HCC-20260314-0001"))
	r, err := hcc.Post(ctx, first)
	if err != nil || r.Duplicate || r.ID != "cl-1" {
		t.Fatalf("post: %+v %v", r, err)
	}
	again, err := hcc.Post(ctx, first)
	if err != nil || !again.Duplicate || again.AcceptedAt != r.AcceptedAt {
		t.Fatalf("retry: %+v %v", again, err)
	}
	rs, err := hcc.PostBatch(ctx, []event.Event{toEvent(t, submitted("cl-2", "HCC-20260314-0002")), toEvent(t, submitted("cl-3", "HCC-20260314-0003"))})
	if err != nil || len(rs) != 2 {
		t.Fatalf("batch: %+v %v", rs, err)
	}

	bad := submitted("cl-4", "HCC-20260314-0004")
	applicant(bad)["id_number"] = "12"
	_, err = hcc.PostBatch(ctx, []event.Event{toEvent(t, submitted("cl-5", "HCC-20260314-0005")), toEvent(t, bad)})
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || p.Type != "urn:lienthong:problem:invalid-data" ||
		p.Index == nil || *p.Index != 1 || len(p.Errors) == 0 || p.Errors[0].Location != "/1/data/applicant/id_number" {
		t.Fatalf("a bad batch: %v", err)
	}

	// Tracking, once the store has the dossiers.
	var page client.Page
	for deadline := time.Now().Add(30 * time.Second); ; {
		page, err = admin.List(ctx, client.ListOptions{Procedure: "1.004227", ReceivedFrom: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Limit: 2})
		if err == nil && len(page.Items) == 2 && page.Next != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list: %+v %v", page, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rest, err := admin.List(ctx, client.ListOptions{Procedure: "1.004227", Limit: 2, Cursor: page.Next})
	if err != nil || len(rest.Items) != 1 || rest.Next != "" {
		t.Fatalf("second page: %+v %v", rest, err)
	}
	d, err := hcc.Dossier(ctx, "HCC-20260314-0001")
	if err != nil || d.Code != "HCC-20260314-0001" || len(d.Steps) != 3 {
		t.Fatalf("dossier: %+v %v", d, err)
	}
	if _, err := hcc.Dossier(ctx, "HCC-20260314-0999"); !errors.As(err, &p) || p.Status != http.StatusNotFound {
		t.Fatalf("unknown dossier: %v", err)
	}
	if rows, err := hcc.Stats(ctx, time.Time{}, time.Time{}); err != nil || len(rows) == 0 {
		t.Fatalf("stats: %+v %v", rows, err)
	}
	if rows, err := hcc.Stats(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}); err != nil || len(rows) != 0 {
		t.Fatalf("stats of a period without dossiers: %+v %v", rows, err)
	}

	// The pull inbox: HCC's status changes, with the cursor saved in a file
	// and resumed by a second consumer (nothing read twice).
	cursor := client.FileCursor(filepath.Join(t.TempDir(), "hcc.cursor"))
	var seen atomic.Int64
	ids := map[string]bool{}
	consume := func(stopAfter int64) {
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		err := hcc.Consume(cctx, "HCC", cursor, client.ConsumeOptions{Wait: time.Second}, func(_ context.Context, ev event.Event) error {
			if ids[ev.ID] {
				t.Errorf("event %s read twice", ev.ID)
			}
			ids[ev.ID] = true
			// Only the status changes are counted: the dossiers were
			// received in March, so overdue notices also arrive, when the
			// router's timer fires.
			if ev.Type == event.StatusChanged && seen.Add(1) >= stopAfter {
				stop()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("consume: %v", err)
		}
	}
	consume(1) // handles the whole first page, saves its cursor
	saved, _ := cursor.Load()
	firstPage := seen.Load()
	if saved == "" || firstPage == 0 {
		t.Fatalf("no cursor saved (%d events read)", firstPage)
	}
	// New events for HCC, then a second consumer resumes from the file.
	if _, err := hcc.Post(ctx, toEvent(t, submitted("cl-6", "HCC-20260314-0006"))); err != nil {
		t.Fatal(err)
	}
	consume(8) // 4 receipts x 2 status changes
	if seen.Load() != 8 {
		t.Fatalf("read %d status changes, want 8", seen.Load())
	}
	// A refusal ends Consume: the admin may not read an agency's inbox.
	if err := admin.Consume(ctx, "HCC", client.FileCursor(filepath.Join(t.TempDir(), "c")), client.ConsumeOptions{}, nil); !errors.As(err, &p) || p.Status != http.StatusForbidden {
		t.Fatalf("admin consuming HCC's inbox: %v", err)
	}
}
