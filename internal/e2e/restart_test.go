package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Accept events, SIGKILL the serve process, restart it on the same data
// dir: every accepted event is still in the topic, and a retry still gets
// 200 duplicate with its first receipt (and another body still 409).
func TestRestartKeepsAcceptedEventsAndIdempotency(t *testing.T) {
	dir := t.TempDir()
	brokers := kafkatest.Brokers()
	cfg := writeConfig(t, dir, brokers, kafkatest.Prefix())
	p := startProc(t, cfg, "--roles", "gateway")

	const n = 60
	receipts := make([]map[string]any, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ev := submitted(fmt.Sprintf("r-%03d", i), fmt.Sprintf("HCC-20260305-%04d", i))
			st, _, body := post(t, p.base, "HCC", "application/cloudevents+json", mustJSON(ev))
			if st != http.StatusAccepted {
				errs <- fmt.Sprintf("event %d: %d %v", i, st, body)
			}
			receipts[i] = body
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	p.kill()

	p2 := startProc(t, cfg, "--roles", "gateway")
	for _, i := range []int{0, n / 2, n - 1} {
		ev := submitted(fmt.Sprintf("r-%03d", i), fmt.Sprintf("HCC-20260305-%04d", i))
		st, _, body := post(t, p2.base, "HCC", "application/cloudevents+json", mustJSON(ev))
		if st != http.StatusOK || body["duplicate"] != true || body["accepted_at"] != receipts[i]["accepted_at"] {
			t.Fatalf("retry of %d after restart: %d %v (first %v)", i, st, body, receipts[i])
		}
	}
	st, _, body := post(t, p2.base, "HCC", "application/cloudevents+json", mustJSON(submitted("r-001", "HCC-20260305-9999")))
	if st != http.StatusConflict {
		t.Fatalf("id reused after restart: %d %v", st, body)
	}
	st, _, body = post(t, p2.base, "HCC", "application/cloudevents+json", mustJSON(submitted("r-new", "HCC-20260305-0007")))
	if st != http.StatusConflict || body["type"] != "urn:lienthong:problem:dossier-exists" {
		t.Fatalf("dossier code reused after restart: %d %v", st, body)
	}

	// Every accepted event is in the topic, once.
	brokerAddr := p2.broker
	if len(brokers) > 0 {
		brokerAddr = brokers[0]
	}
	ids := readEventIDs(t, brokerAddr, topicFromConfig(t, cfg), n)
	for i := 0; i < n; i++ {
		if ids[fmt.Sprintf("r-%03d", i)] != 1 {
			t.Errorf("event r-%03d found %d times", i, ids[fmt.Sprintf("r-%03d", i)])
		}
	}
}

func topicFromConfig(t testing.TB, cfgPath string) string {
	out, err := exec.Command("grep", "topic_prefix", cfgPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	return strings.Trim(f[len(f)-1], `"`) + kafkabus.TopicEvents
}

// readEventIDs reads want records of topic and counts ids.
func readEventIDs(t testing.TB, broker, topic string, want int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, GroupTopics: []string{topic}, GroupID: "check-" + kafkatest.Prefix(), StartOffset: kafka.FirstOffset, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	ids := map[string]int{}
	for i := 0; i < want; i++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read %d of %d: %v", i, want, err)
		}
		var ev struct{ ID string }
		_ = jsonUnmarshal(m.Value, &ev)
		ids[ev.ID]++
	}
	return ids
}

// SIGTERM: stop accepting, finish in-flight writes, exit 0 within seconds.
func TestSigtermShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, kafkatest.Brokers(), kafkatest.Prefix())
	p := startProc(t, cfg)
	// Requests in flight while the signal arrives either finish (202) or
	// are refused before acceptance (connection refused / 503): never lost.
	var wg sync.WaitGroup
	accepted := make(chan string, 200)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("g-%d-%d", w, i)
				body := mustJSON(submitted(id, fmt.Sprintf("HCC-20260307-%d%04d", w, i)))
				req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/events", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/cloudevents+json")
				req.Header.Set("Authorization", "Bearer "+tokens["HCC"])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					select {
					case accepted <- id:
					default:
					}
				}
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	took, exited := p.term(20 * time.Second)
	close(stop)
	wg.Wait()
	if !exited {
		t.Fatalf("still running %s after SIGTERM", took)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.output())
	}
	t.Logf("exited %s after SIGTERM, %d events accepted before", took.Round(time.Millisecond), len(accepted))
	if len(accepted) == 0 {
		t.Fatal("no event was accepted before the signal")
	}
	// Every 202 is in the topic after a restart.
	p2 := startProc(t, cfg, "--roles", "gateway")
	close(accepted)
	for id := range accepted {
		var w, i int
		fmt.Sscanf(id, "g-%d-%d", &w, &i)
		st, _, body := post(t, p2.base, "HCC", "application/cloudevents+json", mustJSON(submitted(id, fmt.Sprintf("HCC-20260307-%d%04d", w, i))))
		if st != http.StatusOK {
			t.Fatalf("accepted %s is unknown after restart: %d %v", id, st, body)
		}
	}
}
