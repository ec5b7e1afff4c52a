package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// waitMetric waits until cond holds for the scraped metrics.
func waitMetric(t testing.TB, base, what string, within time.Duration, cond func(m map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := scrape(t, base)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: in memory %v, evicted %v, applied %v", what, within,
				m["lienthong_router_dossiers_in_memory"], m["lienthong_router_evicted_total"], m["lienthong_router_applied_total"])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Closed dossiers leave the router's memory once the tracking store holds
// them, and a restart does not read them back; tracking still shows them
// from the store, and the rules on closed dossiers and reused codes hold
// after they left memory and after the restart (a real process, SIGKILL).
func TestClosedDossiersLeaveMemory(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, kafkatestBrokers(), kafkatestPrefix())
	p := startProc(t, cfg, "--log-level", "debug")
	defer func() {
		if t.Failed() {
			for _, l := range p.Lines() {
				if strings.Contains(l, "evict") || strings.Contains(l, "archive") || strings.Contains(l, "store") || strings.Contains(l, "projector") {
					t.Log(l)
				}
			}
		}
	}()
	const n, closed = 40, 30
	code := func(i int) string { return fmt.Sprintf("HCC-20260310-%04d", i) }
	var subs, withdrawals []any
	for i := 0; i < n; i++ {
		subs = append(subs, submitted(fmt.Sprintf("mem-s-%d", i), code(i)))
		if i < closed {
			withdrawals = append(withdrawals, stepEvent("HCC", "dossier.withdrawn", fmt.Sprintf("mem-w-%d", i), code(i), map[string]any{"reason": "công dân rút hồ sơ"}))
		}
	}
	const batch = "application/cloudevents-batch+json"
	if st, _, body := post(t, p.base, "HCC", batch, mustJSON(subs)); st != http.StatusAccepted {
		t.Fatalf("submit: %d %v", st, body)
	}
	if st, _, body := post(t, p.base, "HCC", batch, mustJSON(withdrawals)); st != http.StatusAccepted {
		t.Fatalf("withdraw: %d %v", st, body)
	}
	waitMetric(t, p.base, "closed dossiers evicted", 60*time.Second, func(m map[string]float64) bool {
		return m["lienthong_router_evicted_total"] == closed && m["lienthong_router_dossiers_in_memory"] == n-closed
	})

	// Tracking reads them from the store.
	list := func(query string) (codes []string) {
		t.Helper()
		st, _, raw := do(t, http.DefaultClient, http.MethodGet, p.base+"/v1/dossiers?limit=500"+query, "admin", nil)
		var page struct {
			Items []struct{ Code, Status string }
		}
		if st != http.StatusOK || json.Unmarshal(raw, &page) != nil {
			t.Fatalf("list %s: %d %s", query, st, raw)
		}
		for _, it := range page.Items {
			codes = append(codes, it.Code)
		}
		return codes
	}
	if got := list("&status=withdrawn"); len(got) != closed {
		t.Fatalf("%d withdrawn dossiers listed, want %d", len(got), closed)
	}

	// An event for a dossier that left memory is accepted by the gateway and
	// refused by the router with dossier-closed, to the sender; its code
	// cannot be submitted again.
	closedRulesHold := func(round, i int) {
		t.Helper()
		id := fmt.Sprintf("mem-late-%d", round)
		late := stepEvent("HCC", "dossier.withdrawn", id, code(i), map[string]any{"reason": "lần nữa"})
		if st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(late)); st != http.StatusAccepted {
			t.Fatalf("late withdrawal %d: %d %v", round, st, body)
		}
		waitRejected(t, p.base, id, "urn:lienthong:problem:dossier-closed")
		again := submitted(fmt.Sprintf("mem-again-%d", round), code(i+1))
		if st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(again)); st != http.StatusConflict {
			t.Fatalf("resubmission %d of a closed code: %d %v", round, st, body)
		}
	}
	closedRulesHold(1, 0)

	// A restart reads back only the open dossiers.
	p.kill()
	p = startProc(t, cfg)
	m := waitMetric(t, p.base, "router rebuilt", 60*time.Second, func(m map[string]float64) bool {
		return m["lienthong_router_partitions"] > 0 && m["lienthong_router_dossiers_in_memory"] == n-closed
	})
	if m["lienthong_router_dossiers_in_memory"] != n-closed {
		t.Fatalf("after the restart %v dossiers in memory, want %d", m["lienthong_router_dossiers_in_memory"], n-closed)
	}
	if got := list(""); len(got) != n {
		t.Fatalf("after the restart %d dossiers listed, want %d", len(got), n)
	}
	closedRulesHold(2, 2)
	// The open ones still route: withdraw one more, it leaves memory too.
	w := stepEvent("HCC", "dossier.withdrawn", "mem-w-last", code(closed), map[string]any{"reason": "rút"})
	if st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(w)); st != http.StatusAccepted {
		t.Fatalf("withdraw after restart: %d %v", st, body)
	}
	waitMetric(t, p.base, "the last withdrawal evicted", 60*time.Second, func(m map[string]float64) bool {
		return m["lienthong_router_dossiers_in_memory"] == n-closed-1
	})
}

// waitRejected waits for message.rejected about event id in HCC's inbox.
func waitRejected(t testing.TB, base, id, reason string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	cursor := ""
	for time.Now().Before(deadline) {
		st, _, raw := do(t, http.DefaultClient, http.MethodGet, base+"/v1/agencies/HCC/inbox?limit=1000&wait=1s&after="+cursor, "HCC", nil)
		var feed struct {
			Events []struct {
				Type string
				Data struct {
					RejectedID string `json:"rejected_id"`
					Reason     string
				}
			}
			Next string
		}
		if st != http.StatusOK || json.Unmarshal(raw, &feed) != nil {
			t.Fatalf("inbox: %d %s", st, raw)
		}
		for _, ev := range feed.Events {
			if ev.Type == "message.rejected" && ev.Data.RejectedID == id {
				if ev.Data.Reason != reason {
					t.Fatalf("%s rejected for %s, want %s", id, ev.Data.Reason, reason)
				}
				return
			}
		}
		cursor = feed.Next
	}
	t.Fatalf("no message.rejected for %s within 30s", id)
}

// A tracking store that does not answer at start: serve waits (it does not
// exit), /readyz says why, tracking answers 503 with Retry-After, and
// ingress accepts into Kafka meanwhile. A real process.
func TestStoreUnreachableAtStart(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfgPath := writeConfig(t, dir, kafkatestBrokers(), kafkatestPrefix())
	text, _ := os.ReadFile(cfgPath)
	cfg := regexp.MustCompile(`(?m)^  dsn: .*$`).ReplaceAllString(string(text), fmt.Sprintf("  dsn: %q", "postgres://lienthong@"+dead+"/lienthong?sslmode=disable&connect_timeout=2"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := launch(t, cfgPath)
	var why struct{ Status, Reason string }
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("ready without a store: %s", raw)
		}
		_ = json.Unmarshal(raw, &why)
		if strings.HasPrefix(why.Reason, "tracking store: unreachable") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz does not say the store is unreachable: %s", raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(why.Reason, "password") {
		t.Errorf("reason %q", why.Reason)
	}
	st, h, raw := do(t, http.DefaultClient, http.MethodGet, p.base+"/v1/dossiers", "admin", nil)
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || problemType(t, h, raw) != "urn:lienthong:problem:unavailable" {
		t.Fatalf("tracking without a store: %d %s", st, raw)
	}
	// Ingress does not need the store: the event is in Kafka, the router
	// (the authority on reused codes) waits for the store to route it.
	// (The idempotency index may still be catching up: 503, retried.)
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(submitted("nostore-1", "HCC-20260311-0001")))
		if st == http.StatusAccepted {
			break
		}
		if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("submission without a store: %d %v", st, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case <-p.exited:
		t.Fatalf("serve exited without a store:\n%s", p.output())
	case <-time.After(2 * time.Second):
	}
}

// Replicas answer tracking queries identically: on PostgreSQL they share
// one store (make test-integration), on SQLite each projects the whole state
// topic into its own file. Two real processes.
func TestReplicasAnswerAlike(t *testing.T) {
	dir := t.TempDir()
	prefix := kafkatestPrefix()
	for _, sub := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	a := startProc(t, writeConfig(t, filepath.Join(dir, "a"), kafkatestBrokers(), prefix))
	b := startProc(t, writeConfig(t, filepath.Join(dir, "b"), brokersOf(a), prefix))
	const n, closed = 60, 20
	var subs, withdrawals []any
	for i := 0; i < n; i++ {
		code := fmt.Sprintf("HCC-20260313-%04d", i)
		subs = append(subs, submitted(fmt.Sprintf("alike-s-%d", i), code))
		if i < closed {
			withdrawals = append(withdrawals, stepEvent("HCC", "dossier.withdrawn", fmt.Sprintf("alike-w-%d", i), code, map[string]any{"reason": "rút"}))
		}
	}
	const batch = "application/cloudevents-batch+json"
	if st, _, body := post(t, a.base, "HCC", batch, mustJSON(subs)); st != http.StatusAccepted {
		t.Fatalf("submit: %d %v", st, body)
	}
	if st, _, body := post(t, b.base, "HCC", batch, mustJSON(withdrawals)); st != http.StatusAccepted {
		t.Fatalf("withdraw: %d %v", st, body)
	}
	queries := []string{"/v1/dossiers?limit=500", "/v1/dossiers?status=withdrawn&limit=7", "/v1/stats",
		"/v1/dossiers/HCC-20260313-0003", "/v1/dossiers/HCC-20260313-0042"}
	answer := func(base, q string) string {
		st, _, raw := do(t, http.DefaultClient, http.MethodGet, base+q, "admin", nil)
		if st != http.StatusOK {
			return fmt.Sprintf("HTTP %d %s", st, raw)
		}
		return string(raw)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var diff []string
		if got := answer(a.base, "/v1/dossiers?status=withdrawn&limit=500"); strings.Count(got, `"code"`) != closed {
			diff = append(diff, "A has not projected every withdrawal yet")
		}
		for _, q := range queries {
			if x, y := answer(a.base, q), answer(b.base, q); x != y {
				diff = append(diff, fmt.Sprintf("%s:\n A %s\n B %s", q, x, y))
			}
		}
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas answer differently after 60s:\n%s", strings.Join(diff, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
