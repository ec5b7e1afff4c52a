package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/demo"
)

// The demo, run for 20 seconds: simulated agencies behind real webhook
// servers verify every signature and answer their steps, the desk reads its
// pull feed, accepts at reception what was filed online (refusing one in
// twenty), hands in supplements and confirms the land procedure's tax
// payment; every submitted dossier reaches result_ready, or refused at
// reception.
func TestDemoEveryDossierReachesResultReady(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s demo")
	}
	var out bytes.Buffer
	ctx := context.Background()
	d, err := demo.Start(ctx, demo.Options{AnyPorts: true, DataDir: t.TempDir(), Rate: 5,
		Duration: 20 * time.Second, MaxDelay: 500 * time.Millisecond, SupplementP: 0.3,
		ReportEvery: 5 * time.Second, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Run(ctx)
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	statuses := d.Drain(dctx, "result_ready", "refused")
	codes := d.Stats.Codes()
	if len(codes) < 50 {
		t.Fatalf("only %d dossiers submitted in 20 s", len(codes))
	}
	notReady := 0
	counts := map[string]int{}
	for _, c := range codes {
		counts[statuses[c]]++
		if statuses[c] != "result_ready" && statuses[c] != "refused" {
			notReady++
			if notReady <= 5 {
				t.Errorf("%s: status %q", c, statuses[c])
			}
		}
	}
	t.Logf("statuses %v", counts)
	if counts["result_ready"] < len(codes)*3/4 {
		t.Errorf("only %d of %d dossiers reached result_ready", counts["result_ready"], len(codes))
	}
	t.Logf("submitted %d, result_ready %d, steps answered %d, supplements %d, webhooks verified %d, bad signatures %d",
		len(codes), len(codes)-notReady, d.Stats.Answered.Load(), d.Stats.Supplements.Load(), d.Stats.Verified.Load(), d.Stats.BadSig.Load())
	if d.Stats.BadSig.Load() != 0 || d.Stats.Verified.Load() == 0 {
		t.Errorf("signatures: %d verified, %d bad", d.Stats.Verified.Load(), d.Stats.BadSig.Load())
	}
	if d.Stats.Supplements.Load() == 0 {
		t.Error("no supplement was requested: the pause path was not exercised")
	}
	if !bytes.Contains(out.Bytes(), []byte("result_ready=")) {
		t.Errorf("the demo did not report statuses:\n%s", out.String())
	}
}
