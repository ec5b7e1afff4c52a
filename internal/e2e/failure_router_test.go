package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Issue 3: the router process is SIGKILLed mid-flight and a new one takes
// over its consumer group. Every dossier still reaches result_ready, every
// assignment reaches its agency, and a replayed assignment carries the id
// (and the bytes) of the first one.
func TestFailureRouterCrash(t *testing.T) {
	const n, workers, killAt = 1000, 16, 300
	dir := t.TempDir()
	prefix := kafkatest.Prefix()
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	urls := map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()}

	gwCfg := writeFailConfig(t, dir, "gw.yaml", failCfg{dataDir: filepath.Join(dir, "gw"), brokers: kafkatest.Brokers(), prefix: prefix, urls: urls})
	gw := startProc(t, gwCfg, "--roles", "gateway,delivery")
	tg.set(gw.base)
	rCfg := writeFailConfig(t, dir, "router.yaml", failCfg{dataDir: filepath.Join(dir, "router"), brokers: brokersOf(gw), prefix: prefix, urls: urls})
	r1 := startProc(t, rCfg, "--roles", "router")

	start := time.Now()
	done := make(chan *loadStats)
	go func() { done <- submitLoad(context.Background(), tg, "20260303", n, workers, nil) }()

	// Kill the router once a good part of the dossiers is past verify.
	if !waitFor(90*time.Second, func() bool { return thue.assignedFor("tax") >= killAt }) {
		t.Fatalf("only %d tax steps assigned after 90s (THUE deliveries %d)", thue.assignedFor("tax"), thue.attempts.Load())
	}
	atKill := [3]int{vpdk.assignedFor("verify"), thue.assignedFor("tax"), vpdk.assignedFor("certificate")}
	r1.kill()
	killedAt := time.Since(start)
	r2 := startProc(t, rCfg, "--roles", "router")
	restarted := time.Since(start)
	_ = r2

	ls := <-done
	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 120*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("router crash", ls, r, counts, fmtExtra(
		"killed at %s with verify/tax/certificate assigned %v, new router ready at %s; unique ids VPDK=%d THUE=%d; total %s",
		killedAt.Round(time.Millisecond), atKill, restarted.Round(time.Millisecond), vpdk.unique(), thue.unique(), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if len(codes) != n {
		t.Errorf("accepted %d of %d dossiers", len(codes), n)
	}
	if vpdk.unique() != 2*len(codes) || thue.unique() != len(codes) {
		t.Errorf("distinct event ids: VPDK %d (want %d), THUE %d (want %d)", vpdk.unique(), 2*len(codes), thue.unique(), len(codes))
	}
}
