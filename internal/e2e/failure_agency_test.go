package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Issue 5: the tax office's system is down for 60 s while dossiers flow:
// first its server is gone (connection refused), then it is back but
// answers 503. lienthong keeps retrying (max_attempts 50, max_backoff 5s
// outlive the outage), every assignment reaches THUE once it recovers, in
// order per dossier, and every dossier reaches result_ready.
func TestFailureAgencyDown60s(t *testing.T) {
	if testing.Short() {
		t.Skip("the outage lasts 60 s")
	}
	const n, workers, outage = 400, 8, 60 * time.Second
	dir := t.TempDir()
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	cfg := writeFailConfig(t, dir, "lienthong.yaml", failCfg{dataDir: filepath.Join(dir, "data"), brokers: kafkatest.Brokers(),
		prefix: kafkatest.Prefix(), urls: map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()},
		maxAttempts: 50, minBackoff: "200ms", maxBackoff: "5s"})
	p := startProc(t, cfg)
	tg.set(p.base)

	thue.close() // the outage begins: nothing listens on THUE's port
	start := time.Now()
	done := make(chan *loadStats)
	go func() { done <- submitLoad(context.Background(), tg, "20260306", n, workers, nil) }()
	ls := <-done
	loaded := time.Since(start)

	// Halfway through, the server is back but still failing (503).
	time.Sleep(outage/2 - time.Since(start))
	thue.down.Store(true)
	if err := thue.reopen(); err != nil {
		t.Fatalf("THUE cannot listen again on %s: %v", thue.addr, err)
	}
	time.Sleep(outage - time.Since(start))
	if got := thue.unique(); got != 0 {
		t.Fatalf("THUE accepted %d events during its outage", got)
	}
	verifyDone := vpdk.assignedFor("verify")
	thue.down.Store(false)
	recovered := time.Since(start)

	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 120*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("THUE down 60s", ls, r, counts, fmtExtra(
		"load done at %s, verify assigned during the outage %d, THUE refused %d requests while failing, recovered at %s, all final at %s",
		loaded.Round(time.Millisecond), verifyDone, thue.refused.Load(), recovered.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if thue.refused.Load() == 0 {
		t.Error("no delivery to THUE was attempted while it answered 503: the outage tested nothing")
	}
	// Order per dossier: each agency got its steps in route order.
	route := map[string]int{"verify": 0, "tax": 1, "certificate": 2}
	for _, a := range []*simAgency{vpdk, thue} {
		a.mu.Lock()
		for code, evs := range a.order {
			last := -1
			for _, e := range evs {
				if e.typ != event.Assigned {
					continue
				}
				if route[e.step] < last {
					t.Errorf("%s got %s's steps out of order: %v", a.code, code, evs)
					break
				}
				last = route[e.step]
			}
		}
		a.mu.Unlock()
	}
	if t.Failed() {
		diagnose(t, tg, final, codes, allResultReady, map[string]*proc{"serve": p})
	}
}
