package e2e

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Issue 5: two `lienthong serve` replicas (every role) share the broker and
// the consumer groups; clients and agencies post to both in turn. Replica B
// is SIGKILLed mid-load: A takes over B's partitions of the router and
// delivery groups and every dossier completes. (A holds the embedded
// broker, so killing A would be a broker outage, tested elsewhere.)
//
// "settled": B has run long enough for every group to finish the rebalance
// its arrival caused (the rebalance timeout is 10 s), the common case of a
// replica that crashes. "just joined": B dies about a second after it
// started, while the groups are still rebalancing (a crash-looping replica,
// a deploy rolled back).
func TestFailureReplicaKilled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		settle time.Duration
	}{
		{"settled", 12 * time.Second},
		{"just joined", 0},
	} {
		t.Run(tc.name, func(t *testing.T) { replicaKilled(t, tc.settle) })
	}
}

func replicaKilled(t *testing.T, settle time.Duration) {
	n := 2000
	if testing.Short() {
		n = 800
	}
	const workers = 16
	killAt := int64(n * 3 / 10)
	dir := t.TempDir()
	prefix := kafkatest.Prefix()
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	urls := map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()}
	cfgA := writeFailConfig(t, dir, "a.yaml", failCfg{dataDir: filepath.Join(dir, "a"), brokers: kafkatest.Brokers(), prefix: prefix, urls: urls})
	a := startProc(t, cfgA)
	cfgB := writeFailConfig(t, dir, "b.yaml", failCfg{dataDir: filepath.Join(dir, "b"), brokers: brokersOf(a), prefix: prefix, urls: urls})
	b := startProc(t, cfgB)
	tg.set(a.base, b.base)
	time.Sleep(settle)

	start := time.Now()
	var accepted atomic.Int64
	done := make(chan *loadStats)
	go func() {
		done <- submitLoad(context.Background(), tg, "20260305", n, workers, func(k int64) { accepted.Store(k) })
	}()
	if !waitFor(120*time.Second, func() bool { return accepted.Load() >= killAt }) {
		t.Fatalf("only %d dossiers accepted after 120s", accepted.Load())
	}
	atKill := [4]int64{accepted.Load(), int64(vpdk.assignedFor("verify")), int64(thue.assignedFor("tax")), int64(vpdk.assignedFor("certificate"))}
	b.kill()
	tg.set(a.base) // a load balancer's health check takes B out
	killedAt := time.Since(start)

	ls := <-done
	loaded := time.Since(start)
	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 90*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("replica B killed", ls, r, counts, fmtExtra(
		"dossiers=%d settle=%s killed B at %s with accepted/verify/tax/certificate %v, load done at %s, all final at %s",
		n, settle, killedAt.Round(time.Millisecond), atKill, loaded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if t.Failed() {
		diagnose(t, tg, final, codes, allResultReady, map[string]*proc{"replica A": a, "replica B (killed)": b})
	}
	if len(codes) != n {
		t.Errorf("accepted %d of %d dossiers", len(codes), n)
	}
	if vpdk.unique() != 2*len(codes) || thue.unique() != len(codes) {
		t.Errorf("distinct event ids: VPDK %d (want %d), THUE %d (want %d)", vpdk.unique(), 2*len(codes), thue.unique(), len(codes))
	}
}
