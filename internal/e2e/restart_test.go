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
