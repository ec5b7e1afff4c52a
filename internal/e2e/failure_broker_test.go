package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// EnvKafkaRestart names a shell command, run from the repository root, that
// restarts the external broker (make test-kafka: "scripts/kafka.sh restart").
const EnvKafkaRestart = "LIENTHONG_TEST_KAFKA_RESTART"

// Issue 5: the (real) Kafka broker restarts mid-load. The gateway answers
// 503 while it is away and clients retry; everything accepted completes.
func TestFailureBrokerRestart(t *testing.T) {
	brokers := kafkatest.Brokers()
	restart := os.Getenv(EnvKafkaRestart)
	if brokers == nil || restart == "" {
		t.Skipf("needs an external broker (%s) and a command restarting it (%s, e.g. \"scripts/kafka.sh restart\"); the embedded broker lives inside the serve process, so restarting it is TestFailureServeKilledDuringLoad", kafkatest.EnvBrokers, EnvKafkaRestart)
	}
	n := 2000
	if testing.Short() {
		n = 500
	}
	const workers = 16
	killAt := int64(n * 3 / 10)
	dir := t.TempDir()
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	cfg := writeFailConfig(t, dir, "lienthong.yaml", failCfg{dataDir: filepath.Join(dir, "data"), brokers: brokers,
		prefix: kafkatest.Prefix(), urls: map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()}})
	p := startProc(t, cfg)
	tg.set(p.base)

	start := time.Now()
	var accepted atomic.Int64
	done := make(chan *loadStats)
	go func() {
		done <- submitLoad(context.Background(), tg, "20260309", n, workers, func(k int64) { accepted.Store(k) })
	}()
	if !waitFor(120*time.Second, func() bool { return accepted.Load() >= killAt }) {
		t.Fatalf("only %d dossiers accepted after 120s", accepted.Load())
	}
	atRestart := accepted.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", restart)
	cmd.Dir = filepath.Join("..", "..") // the repository root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restart the broker (%s): %v\n%s", restart, err, out)
	}
	restarted := time.Since(start)

	ls := <-done
	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 150*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("broker restart", ls, r, counts, fmtExtra(
		"dossiers=%d restart began with %d accepted, broker back at %s, all final at %s",
		n, atRestart, restarted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if t.Failed() {
		diagnose(t, tg, final, codes, allResultReady, map[string]*proc{"serve": p})
	}
	if len(codes) != n {
		t.Errorf("accepted %d of %d dossiers", len(codes), n)
	}
}
