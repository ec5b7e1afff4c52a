package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/internal/testpg"
)

// pgServer is a PostgreSQL server of this test's own (scripts/postgres.sh
// with its own state file), so restarting it disturbs no other test.
type pgServer struct {
	t   testing.TB
	env []string
}

func startPostgres(t testing.TB, dir string) *pgServer {
	t.Helper()
	s := &pgServer{t: t, env: append(os.Environ(), "POSTGRES_STATE="+filepath.Join(dir, "pg.state"), "POSTGRES_PORT=")}
	s.run("start")
	t.Cleanup(func() { s.run("stop") })
	return s
}

func (s *pgServer) run(args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "postgres.sh"), args...)
	cmd.Env = s.env
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		s.t.Fatalf("scripts/postgres.sh %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// Issue 8: PostgreSQL, the tracking store, restarts mid-load. Ingress keeps
// accepting into Kafka, nothing is lost, and tracking catches up once the
// database is back: every dossier reaches result_ready in the store.
func TestFailurePostgresRestart(t *testing.T) {
	if !testpg.Enabled() {
		t.Skipf("needs PostgreSQL (make test-integration sets %s)", testpg.EnvDSN)
	}
	n := 1000
	if testing.Short() {
		n = 300
	}
	const workers = 16
	restartAt := int64(n * 3 / 10)
	dir := t.TempDir()
	pg := startPostgres(t, dir)
	tg := newTargets()
	vpdk, thue := newSimAgency(t, "VPDK", tg), newSimAgency(t, "THUE", tg)
	cfg := writeFailConfig(t, dir, "lienthong.yaml", failCfg{dataDir: filepath.Join(dir, "data"), brokers: kafkatest.Brokers(),
		prefix: kafkatest.Prefix(), urls: map[string]string{"VPDK": vpdk.url(), "THUE": thue.url()}})
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dsn := pg.run("dsn")
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  dsn: ") {
			lines[i] = "  dsn: \"" + dsn + "\""
		}
	}
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, cfg)
	tg.set(p.base)

	start := time.Now()
	var accepted atomic.Int64
	done := make(chan *loadStats)
	go func() {
		done <- submitLoad(context.Background(), tg, "20260312", n, workers, func(k int64) { accepted.Store(k) })
	}()
	if !waitFor(120*time.Second, func() bool { return accepted.Load() >= restartAt }) {
		t.Fatalf("only %d dossiers accepted after 120s", accepted.Load())
	}
	atRestart := accepted.Load()
	pg.run("restart")
	restarted := time.Since(start)

	ls := <-done
	codes := ls.codes()
	final, counts, ok := waitStatuses(t, tg, codes, allResultReady, 150*time.Second)
	r := checkDeliveries(codes, vpdk, thue, nil)
	t.Logf("%s", summary("PostgreSQL restart", ls, r, counts, fmtExtra(
		"dossiers=%d restart began with %d accepted, database back at %s, all final at %s",
		n, atRestart, restarted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))))
	verdict(t, ls, r, final, codes, allResultReady, ok, vpdk, thue)
	if t.Failed() {
		diagnose(t, tg, final, codes, allResultReady, map[string]*proc{"serve": p})
	}
	if len(codes) != n {
		t.Errorf("accepted %d of %d dossiers", len(codes), n)
	}
}
