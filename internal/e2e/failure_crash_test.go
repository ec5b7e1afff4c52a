package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Issue 5: one `lienthong serve` (every role, the embedded broker) is
// SIGKILLed while clients submit dossiers and agencies answer, and started
// again on the same data dir. Clients retry with the same id and body until
// 202/200; every dossier they got an answer for reaches result_ready, and
// agencies see duplicates only under one id.
func TestFailureServeKilledDuringLoad(t *testing.T) {
	n := 5000
	if s := os.Getenv("LIENTHONG_FAILURE_DOSSIERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 1000
	}
	const workers = 16
	killAt := int64(n * 3 / 10)
	dir := t.TempDir()
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	cfg := writeFailConfig(t, dir, "lienthong.yaml", failCfg{dataDir: filepath.Join(dir, "data"), brokers: kafkatest.Brokers(),
		prefix: kafkatest.Prefix(), urls: map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()}})
	p1 := startProc(t, cfg)
	tg.set(p1.base)

	start := time.Now()
	var accepted atomic.Int64
	done := make(chan *loadStats)
	go func() {
		done <- submitLoad(context.Background(), tg, "20260304", n, workers, func(k int64) { accepted.Store(k) })
	}()
	if !waitFor(120*time.Second, func() bool { return accepted.Load() >= killAt }) {
		t.Fatalf("only %d dossiers accepted after 120s", accepted.Load())
	}
	atKill := [4]int64{accepted.Load(), int64(vpdk.assignedFor("verify")), int64(thue.assignedFor("tax")), int64(vpdk.assignedFor("certificate"))}
	p1.kill()
	killedAt := time.Since(start)
	p2 := startProc(t, cfg)
	tg.set(p2.base)
	back := time.Since(start)

	ls := <-done
	loaded := time.Since(start)
	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 150*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("serve SIGKILL", ls, r, counts, fmtExtra(
		"dossiers=%d killed at %s with accepted/verify/tax/certificate %v, back at %s, load done at %s, all final at %s",
		n, killedAt.Round(time.Millisecond), atKill, back.Round(time.Millisecond), loaded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if t.Failed() {
		diagnose(t, tg, final, codes, allResultReady, map[string]*proc{"restarted serve": p2})
	}
	if len(codes) != n {
		t.Errorf("accepted %d of %d dossiers", len(codes), n)
	}
	if vpdk.unique() != 2*len(codes) || thue.unique() != len(codes) {
		t.Errorf("distinct event ids: VPDK %d (want %d), THUE %d (want %d)", vpdk.unique(), 2*len(codes), thue.unique(), len(codes))
	}
}
