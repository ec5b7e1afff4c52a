package pullfeed_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/adaptertest"
	"github.com/lienthong/lienthong/adapters/pull"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/internal/pullfeed"
)

// server serves the feed behind a toy auth middleware: the bearer token is
// the agency code, "admin" is the admin.
func server(t *testing.T, b *kafkabus.Bus, pullAgencies ...string) string {
	f := pullfeed.NewFeed(b, pullfeed.Options{IsPull: func(a string) bool {
		for _, p := range pullAgencies {
			if p == a {
				return true
			}
		}
		return false
	}, PollInterval: 50 * time.Millisecond})
	mux := http.NewServeMux()
	f.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		p := auth.Principal{Agency: tok}
		if tok == "admin" {
			p = auth.Principal{Admin: true}
		}
		mux.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// cluster names b's cluster for adaptertest's helpers.
func cluster(b *kafkabus.Bus) adaptertest.Cluster {
	return adaptertest.Cluster{Brokers: b.Brokers(), Prefix: b.Options().TopicPrefix}
}

type evt struct{ ID, Subject string }

// readAll pages through the feed from cursor until it is empty.
func readAll(t *testing.T, c *pull.Client, cursor string, limit int) ([]adaptertest.Delivery, string, int) {
	t.Helper()
	var out []adaptertest.Delivery
	pages := 0
	for {
		page, err := c.Next(context.Background(), cursor, limit, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > limit {
			t.Fatalf("page of %d events with limit %d", len(page.Events), limit)
		}
		if len(page.Events) == 0 {
			if page.Next != cursor && cursor != "" {
				t.Fatalf("an empty page moved the cursor")
			}
			return out, page.Next, pages
		}
		pages++
		for _, raw := range page.Events {
			var e evt
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, adaptertest.Delivery{ID: e.ID, Subject: e.Subject, Body: raw})
		}
		cursor = page.Next
	}
}

func TestFeedDeliversEverythingInOrderAndResumes(t *testing.T) {
	b := kafkatest.Start(t, 3, "HCC")
	url := server(t, b, "HCC")
	total := adaptertest.Publish(t, cluster(b), "HCC", 7, 10)
	c := &pull.Client{BaseURL: url, Agency: "HCC", Token: "HCC"}

	got, cursor, pages := readAll(t, c, "", 9)
	if len(got) != total {
		t.Fatalf("read %d events, want %d", len(got), total)
	}
	if pages < total/9 {
		t.Fatalf("%d pages for %d events with limit 9", pages, total)
	}
	adaptertest.CheckOrder(t, got)
	ids := map[string]bool{}
	for _, d := range got {
		if ids[d.ID] {
			t.Errorf("event %s twice", d.ID)
		}
		ids[d.ID] = true
	}

	// A later batch: resuming from the saved cursor yields exactly the new events.
	adaptertest.Publish(t, cluster(b), "HCC", 2, 1) // ids HCC-...-0001/1 and -0002/1 again: new records
	more, _, _ := readAll(t, c, cursor, 100)
	if len(more) != 2 {
		t.Fatalf("after the cursor: %d events, want 2", len(more))
	}

	// The same cursor again reads the same page: nothing is deleted.
	again, _, _ := readAll(t, c, cursor, 100)
	if len(again) != 2 {
		t.Fatalf("re-reading from a cursor: %d events, want 2", len(again))
	}
}

func TestFeedLongPoll(t *testing.T) {
	b := kafkatest.Start(t, 2, "HCC")
	url := server(t, b, "HCC")
	c := &pull.Client{BaseURL: url, Agency: "HCC", Token: "HCC"}
	first, err := c.Next(context.Background(), "", 10, 0)
	if err != nil || len(first.Events) != 0 || first.Next == "" {
		t.Fatalf("empty inbox: %+v, %v", first, err)
	}
	// Nothing arrives: the call holds for wait.
	start := time.Now()
	page, err := c.Next(context.Background(), first.Next, 10, 300*time.Millisecond)
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("%+v, %v", page, err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("returned after %s with wait 300ms", el)
	}
	// An event arrives during the wait: the call returns with it, early.
	go func() {
		time.Sleep(300 * time.Millisecond)
		adaptertest.Publish(t, cluster(b), "HCC", 1, 1)
	}()
	start = time.Now()
	page, err = c.Next(context.Background(), first.Next, 10, 10*time.Second)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%+v, %v", page, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("long poll took %s to see a new event", el)
	}
}

func TestFeedRefusals(t *testing.T) {
	b := kafkatest.Start(t, 2, "HCC", "THUE", "VPDK")
	url := server(t, b, "HCC", "THUE")
	adaptertest.Publish(t, cluster(b), "THUE", 1, 1)
	thue := &pull.Client{BaseURL: url, Agency: "THUE", Token: "THUE"}
	page, err := thue.Next(context.Background(), "", 10, 0)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	cases := []struct {
		name   string
		c      pull.Client
		cursor string
		limit  int
		status int
		typ    string
	}{
		{"another agency's inbox", pull.Client{BaseURL: url, Agency: "HCC", Token: "THUE"}, "", 0, 403, "forbidden"},
		{"admin", pull.Client{BaseURL: url, Agency: "HCC", Token: "admin"}, "", 0, 403, "forbidden"},
		{"not in pull mode", pull.Client{BaseURL: url, Agency: "VPDK", Token: "VPDK"}, "", 0, 404, "not-found"},
		{"cursor of another agency", pull.Client{BaseURL: url, Agency: "HCC", Token: "HCC"}, page.Next, 0, 400, "bad-cursor"},
		{"corrupt cursor", pull.Client{BaseURL: url, Agency: "THUE", Token: "THUE"}, page.Next[:len(page.Next)-2] + "AA", 0, 400, "bad-cursor"},
		{"garbage cursor", pull.Client{BaseURL: url, Agency: "THUE", Token: "THUE"}, "!!", 0, 400, "bad-cursor"},
		{"limit too high", pull.Client{BaseURL: url, Agency: "THUE", Token: "THUE"}, "", 1001, 400, "bad-request"},
	}
	for _, c := range cases {
		_, err := c.c.Next(context.Background(), c.cursor, c.limit, 0)
		var ae *pull.APIError
		if !errors.As(err, &ae) || ae.Status != c.status || ae.Problem.Type != "urn:lienthong:problem:"+c.typ {
			t.Errorf("%s: err = %v, want %d %s", c.name, err, c.status, c.typ)
		}
	}
	// wait over 30s is refused.
	resp, err := http.Get(url + "/v1/agencies/THUE/inbox?wait=31s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 { // no token: the toy middleware makes an agency "" principal
		t.Errorf("no token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url+"/v1/agencies/THUE/inbox?wait=31s", nil)
	req.Header.Set("Authorization", "Bearer THUE")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("wait=31s: %d, want 400", resp.StatusCode)
	}
}
