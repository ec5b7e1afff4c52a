package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A third-party client (Debian's kcat, librdkafka) reads lienthong.events
// and finds CloudEvents keyed by dossier code with the structured-mode
// content-type header.
func TestKcatReadsCloudEventsKeyedByDossier(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed (.ci/run installs it: apt-get install -y kcat)")
	}
	dir := t.TempDir()
	brokers := kafkatestBrokers()
	prefix := "lienthong." // the default layout, on a fresh embedded broker
	if len(brokers) > 0 {
		prefix = kafkatestPrefix() // a shared cluster: keep runs apart
	}
	cfg := writeConfig(t, dir, brokers, prefix)
	p := startProc(t, cfg, "--roles", "gateway")
	codes := map[string]bool{}
	for i := 0; i < 5; i++ {
		code := fmt.Sprintf("HCC-20260306-%04d", i)
		codes[code] = true
		st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(submitted(fmt.Sprintf("k-%d", i), code)))
		if st != http.StatusAccepted {
			t.Fatalf("%d %v", st, body)
		}
	}
	broker := p.broker
	if len(brokers) > 0 {
		broker = brokers[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// -e: exit at the end; key, a tab, the content-type header, a tab, the value.
	cmd := exec.CommandContext(ctx, kcat, "-C", "-b", broker, "-t", prefix+"events", "-o", "beginning", "-e", "-q",
		"-f", "%k\t%h\t%s\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, errb.String())
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("kcat line %q", line)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(parts[2]), &ev); err != nil {
			t.Fatalf("value is not JSON: %v: %s", err, parts[2])
		}
		if ev["specversion"] != "1.0" || ev["type"] != "dossier.submitted" {
			t.Errorf("not a CloudEvent: %v", ev)
		}
		if ev["subject"] != parts[0] || !codes[parts[0]] {
			t.Errorf("key %q, subject %v", parts[0], ev["subject"])
		}
		if !strings.Contains(parts[1], "content-type=application/cloudevents+json; charset=UTF-8") {
			t.Errorf("headers %q", parts[1])
		}
		seen++
	}
	if seen != len(codes) {
		t.Fatalf("kcat read %d events, want %d:\n%s", seen, len(codes), out.String())
	}
}
