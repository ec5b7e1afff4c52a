// Package adaptertest is the conformance suite that every delivery driver
// runs from its own tests, ours and integrators' alike:
//
//	func TestConformance(t *testing.T) { adaptertest.RunConformanceTests(t, myHarness{}) }
//
// The harness owns a fake department system: it makes a Driver pointed at
// it, makes it fail on demand, and says what it received. The suite runs the
// driver inside the real delivery engine over a real Kafka broker (the
// embedded one, or LIENTHONG_TEST_KAFKA_BROKERS) and checks what the contract
// promises: order per dossier, retries, dead letters, cancellation, no
// acknowledgement before success, no loss across a restart.
//
// Its helpers take only public types (a Cluster is broker addresses and a
// topic prefix), so integrators' own tests can use them too.
package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// Cluster is a Kafka cluster (plaintext) and the topic prefix one test uses.
type Cluster struct {
	Brokers []string
	Prefix  string // e.g. "t1f2e3d4.": topics are <Prefix>inbox.<CODE> and <Prefix>dlq.<CODE>
}

// StartCluster returns a cluster for this test with the inbox and
// dead-letter topics of agencies, partitions each, under a fresh prefix: the
// embedded broker (stopped at the end of the test), or the cluster named by
// LIENTHONG_TEST_KAFKA_BROKERS.
func StartCluster(t testing.TB, partitions int, agencies ...string) Cluster {
	t.Helper()
	b := kafkatest.Start(t, partitions, agencies...)
	return Cluster{Brokers: b.Brokers(), Prefix: b.Options().TopicPrefix}
}

// InboxTopic is the full name of an agency's inbox topic.
func (c Cluster) InboxTopic(agency string) string { return c.Prefix + kafkabus.InboxTopic(agency) }

// DLQTopic is the full name of an agency's dead-letter topic.
func (c Cluster) DLQTopic(agency string) string { return c.Prefix + kafkabus.DLQTopic(agency) }

// open connects to c with lienthong's producer and reader settings; the
// caller closes it.
func (c Cluster) open(t testing.TB) *kafkabus.Bus {
	t.Helper()
	b, err := kafkabus.New(kafkabus.Options{Brokers: c.Brokers, TopicPrefix: c.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Outcome is how the fake system answers one delivery.
type Outcome int

const (
	Accept    Outcome = iota // take the event (HTTP 2xx, file written...)
	Transient                // fail in a way worth retrying (HTTP 503...)
	Reject                   // refuse it for good (HTTP 400...)
	Hang                     // never answer: block until the delivery's context ends
)

// Delivery is one event as the fake system saw it.
type Delivery struct {
	ID      string
	Subject string
	Body    []byte
}

// System is the fake department system behind a driver.
type System interface {
	// SetResponder decides the answer to every later delivery; nil accepts
	// everything. It is called concurrently.
	SetResponder(func(d Delivery) Outcome)
	// Received returns the deliveries the system accepted, in order.
	Received() []Delivery
}

// Harness makes a driver and its fake system.
type Harness interface {
	// MakeDriver starts a fresh fake system (stopped by t.Cleanup) and returns
	// a driver that delivers agency's events to it.
	MakeDriver(t *testing.T, agency string) (adapters.Driver, System)
}

const agency = "CONF"

// Options are the engine options of the suite: short waits keep it fast.
func Options() delivery.Options {
	return delivery.Options{
		MaxAttempts:     5,
		MinBackoff:      10 * time.Millisecond,
		MaxBackoff:      80 * time.Millisecond,
		Concurrency:     8,
		MaxInFlight:     200,
		CommitInterval:  100 * time.Millisecond,
		ShutdownTimeout: 2 * time.Second,
		FetchMaxWait:    500 * time.Millisecond,
	}
}

// RunConformanceTests runs every case against h.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Run("DeliversInOrderPerDossier", func(t *testing.T) { testOrder(t, h) })
	t.Run("RetriesTransientFailures", func(t *testing.T) { testRetry(t, h) })
	t.Run("DeadLettersPermanentFailures", func(t *testing.T) { testDeadLetter(t, h) })
	t.Run("RetryingDossierDoesNotBlockOthers", func(t *testing.T) { testNoHeadOfLine(t, h) })
	t.Run("HonoursCancellation", func(t *testing.T) { testCancel(t, h) })
	t.Run("NoAcknowledgementBeforeSuccess", func(t *testing.T) { testNoEarlyAck(t, h) })
	t.Run("NoLossAcrossRestart", func(t *testing.T) { testRestart(t, h) })
}

// Event returns the CloudEvent JSON of event n of a dossier, with id
// "<dossier>/<n>" so that order can be checked from what arrives.
func Event(dossier string, n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": fmt.Sprintf("%s/%d", dossier, n),
		"source": "urn:lienthong:router", "type": "dossier.status.changed",
		"subject": dossier, "time": "2026-03-03T08:15:00+07:00",
		"datacontenttype": "application/json", "data": map[string]any{"seq": n},
	})
	return b
}

// Dossier returns the code of test dossier i.
func Dossier(i int) string { return fmt.Sprintf("HCC-20260303-%04d", i+1) }

// Publish writes events 1..perDossier of dossiers 0..dossiers-1 to the
// agency's inbox, interleaved, and returns how many it wrote.
func Publish(t testing.TB, c Cluster, agencyCode string, dossiers, perDossier int) int {
	t.Helper()
	b := c.open(t)
	defer b.Close()
	var msgs []kafka.Message
	for n := 1; n <= perDossier; n++ {
		for i := 0; i < dossiers; i++ {
			msgs = append(msgs, kafkabus.Record(c.InboxTopic(agencyCode), Dossier(i), Event(Dossier(i), n)))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Writer().WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return len(msgs)
}

// Start runs an engine for agencyCode on c until the returned stop is
// called (and at the latest at the end of the test); stop waits for Run.
// The engine is built as an integrator's binary builds it: delivery.New
// with the agency's topics, group and an acks=all producer.
func Start(t testing.TB, c Cluster, agencyCode string, d adapters.Driver, o delivery.Options) (stop func()) {
	t.Helper()
	b := c.open(t)
	e, err := delivery.New(delivery.Config{
		Agency: agencyCode, Driver: d, Brokers: c.Brokers, Dialer: b.Dialer(), Writer: b.Writer(),
		InboxTopic: c.InboxTopic(agencyCode), DLQTopic: c.DLQTopic(agencyCode), Options: o,
	})
	if err != nil {
		_ = b.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("engine: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("engine did not stop within 30s")
			}
			_ = b.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// seqOf returns the dossier and number of an id made by Event.
func seqOf(id string) (string, int) {
	d, n, _ := strings.Cut(id, "/")
	i, _ := strconv.Atoi(n)
	return d, i
}

// Waitfor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func unique(ds []Delivery) map[string]bool {
	m := map[string]bool{}
	for _, d := range ds {
		m[d.ID] = true
	}
	return m
}

// CheckOrder fails t unless, for each dossier, no event arrived before every
// earlier one had (duplicates after a restart are allowed, skips are not),
// and duplicates carry the same body.
func CheckOrder(t testing.TB, ds []Delivery) {
	t.Helper()
	seen := map[string]int{}
	bodies := map[string]string{}
	for _, d := range ds {
		dossier, n := seqOf(d.ID)
		if d.Subject != "" && d.Subject != dossier {
			t.Errorf("delivery %s has subject %s", d.ID, d.Subject)
		}
		if n > seen[dossier]+1 {
			t.Errorf("dossier %s: event %d arrived before event %d", dossier, n, seen[dossier]+1)
		}
		if n > seen[dossier] {
			seen[dossier] = n
		}
		if b, ok := bodies[d.ID]; ok && b != string(d.Body) {
			t.Errorf("duplicate of %s with another body", d.ID)
		}
		bodies[d.ID] = string(d.Body)
	}
}

func testOrder(t *testing.T, h Harness) {
	c := StartCluster(t, 3, agency)
	d, sys := h.MakeDriver(t, agency)
	total := Publish(t, c, agency, 6, 8)
	Start(t, c, agency, d, Options())
	waitFor(t, 30*time.Second, "every event", func() bool { return len(unique(sys.Received())) == total })
	CheckOrder(t, sys.Received())
}

func testRetry(t *testing.T, h Harness) {
	c := StartCluster(t, 2, agency)
	d, sys := h.MakeDriver(t, agency)
	var mu sync.Mutex
	calls := map[string]int{}
	// Every event of dossier 0 fails twice before it is accepted.
	sys.SetResponder(func(dl Delivery) Outcome {
		mu.Lock()
		defer mu.Unlock()
		calls[dl.ID]++
		if dl.Subject == Dossier(0) && calls[dl.ID] <= 2 {
			return Transient
		}
		return Accept
	})
	total := Publish(t, c, agency, 3, 4)
	Start(t, c, agency, d, Options())
	waitFor(t, 30*time.Second, "every event", func() bool { return len(unique(sys.Received())) == total })
	CheckOrder(t, sys.Received())
	mu.Lock()
	defer mu.Unlock()
	for n := 1; n <= 4; n++ {
		if c := calls[fmt.Sprintf("%s/%d", Dossier(0), n)]; c != 3 {
			t.Errorf("event %d of the failing dossier tried %d times, want 3", n, c)
		}
	}
	if dl := DeadLetters(t, c, agency, 0, time.Second); len(dl) != 0 {
		t.Errorf("%d dead letters, want none", len(dl))
	}
}

func testDeadLetter(t *testing.T, h Harness) {
	c := StartCluster(t, 2, agency)
	d, sys := h.MakeDriver(t, agency)
	bad := Dossier(1) + "/2"
	sys.SetResponder(func(dl Delivery) Outcome {
		if dl.ID == bad {
			return Reject
		}
		return Accept
	})
	total := Publish(t, c, agency, 3, 4)
	Start(t, c, agency, d, Options())
	waitFor(t, 30*time.Second, "every other event", func() bool { return len(unique(sys.Received())) == total-1 })
	got := unique(sys.Received())
	if got[bad] {
		t.Fatalf("refused event %s counted as received", bad)
	}
	// Later events of the same dossier go on (documented choice).
	for n := 3; n <= 4; n++ {
		if !got[fmt.Sprintf("%s/%d", Dossier(1), n)] {
			t.Errorf("event %d of the dossier after the dead letter not delivered", n)
		}
	}
	dls := DeadLetters(t, c, agency, 1, 20*time.Second)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	m := dls[0]
	if string(m.Key) != Dossier(1) || string(m.Value) != string(Event(Dossier(1), 2)) {
		t.Errorf("dead letter key %s value %s: want the original record", m.Key, m.Value)
	}
	if e := kafkabus.Header(m, kafkabus.HeaderError); !strings.HasPrefix(e, "urn:lienthong:problem:delivery-rejected") {
		t.Errorf("dead letter error header %q", e)
	}
	if a := kafkabus.Header(m, kafkabus.HeaderAttempts); a != "1" {
		t.Errorf("dead letter attempts %q, want 1", a)
	}
}

func testNoHeadOfLine(t *testing.T, h Harness) {
	c := StartCluster(t, 1, agency) // one partition: every dossier shares it
	d, sys := h.MakeDriver(t, agency)
	sys.SetResponder(func(dl Delivery) Outcome {
		if dl.Subject == Dossier(0) {
			return Transient
		}
		return Accept
	})
	total := Publish(t, c, agency, 4, 5)
	o := Options()
	o.MaxAttempts = 1000
	Start(t, c, agency, d, o)
	waitFor(t, 30*time.Second, "the other dossiers", func() bool { return len(unique(sys.Received())) == total-5 })
	for id := range unique(sys.Received()) {
		if dossier, _ := seqOf(id); dossier == Dossier(0) {
			t.Errorf("event %s of the failing dossier counted as received", id)
		}
	}
}

func testCancel(t *testing.T, h Harness) {
	d, sys := h.MakeDriver(t, agency)
	sys.SetResponder(func(Delivery) Outcome { return Hang })
	ctx, cancel := context.WithCancel(context.Background())
	body := Event(Dossier(0), 1)
	m := &adapters.Message{ID: Dossier(0) + "/1", Type: "dossier.status.changed", Subject: Dossier(0), Source: "urn:lienthong:router", Body: body, Attempt: 1, Agency: agency}
	errc := make(chan error, 1)
	go func() { errc <- d.Deliver(ctx, m) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Deliver returned nil after its context was cancelled while the system hung")
		}
		if adapters.IsPermanent(err) {
			t.Errorf("a cancelled delivery must not be permanent: %v", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("Deliver took %s to honour cancellation", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Deliver did not return within 5s of cancellation")
	}
	if n := len(sys.Received()); n != 0 {
		t.Errorf("system received %d events", n)
	}
}

func testNoEarlyAck(t *testing.T, h Harness) {
	c := StartCluster(t, 1, agency)
	d, sys := h.MakeDriver(t, agency)
	var mu sync.Mutex
	healthy := false
	first := Dossier(0) + "/1"
	sys.SetResponder(func(dl Delivery) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if dl.ID == first && !healthy {
			return Transient
		}
		return Accept
	})
	total := Publish(t, c, agency, 3, 3) // the failing event is at offset 0
	o := Options()
	o.MaxAttempts = 1000
	stop := Start(t, c, agency, d, o)
	waitFor(t, 30*time.Second, "the other events", func() bool { return len(unique(sys.Received())) == total-3 })
	time.Sleep(3 * o.CommitInterval)
	if off := Committed(t, c, agency)[0]; off > 0 {
		t.Fatalf("committed offset %d while the record at offset 0 is undelivered", off)
	}
	stop()
	if off := Committed(t, c, agency)[0]; off > 0 {
		t.Fatalf("after shutdown, committed offset %d while the record at offset 0 is undelivered", off)
	}
	mu.Lock()
	healthy = true
	mu.Unlock()
	Start(t, c, agency, d, o)
	waitFor(t, 30*time.Second, "every event after restart", func() bool { return len(unique(sys.Received())) == total })
	CheckOrder(t, sys.Received())
	waitFor(t, 10*time.Second, "the commit of every offset", func() bool { return Committed(t, c, agency)[0] == int64(total) })
}

func testRestart(t *testing.T, h Harness) {
	c := StartCluster(t, 3, agency)
	d, sys := h.MakeDriver(t, agency)
	// A slow system and a short drain: the stop cuts deliveries off midway.
	sys.SetResponder(func(Delivery) Outcome { time.Sleep(5 * time.Millisecond); return Accept })
	total := Publish(t, c, agency, 10, 20)
	o := Options()
	o.ShutdownTimeout = 20 * time.Millisecond
	stop := Start(t, c, agency, d, o)
	waitFor(t, 30*time.Second, "a third of the events", func() bool { return len(sys.Received()) >= total/3 })
	stop()
	before := len(unique(sys.Received()))
	if before == total {
		t.Logf("every event was delivered before the stop took effect: the restart case is weak on this system")
	}
	Start(t, c, agency, d, Options())
	waitFor(t, 60*time.Second, "every event after restart", func() bool { return len(unique(sys.Received())) == total })
	CheckOrder(t, sys.Received())
	t.Logf("%d of %d delivered before the restart, %d deliveries in all", before, total, len(sys.Received()))
}

// DeadLetters reads want records of the agency's dead-letter topic (waiting
// up to timeout for them); with want 0 it reads what is there after timeout.
func DeadLetters(t testing.TB, c Cluster, agencyCode string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	b := c.open(t)
	defer b.Close()
	topic := c.DLQTopic(agencyCode)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := b.NewReader(kafka.ReaderConfig{GroupID: fmt.Sprintf("adaptertest-%d", time.Now().UnixNano()), Topic: topic, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	var out []kafka.Message
	for want == 0 || len(out) < want {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			break
		}
		out = append(out, m)
	}
	return out
}

// Committed returns the delivery group's committed offset per partition of
// the agency's inbox (-1: none).
func Committed(t testing.TB, c Cluster, agencyCode string) map[int]int64 {
	t.Helper()
	b := c.open(t)
	defer b.Close()
	topic := c.InboxTopic(agencyCode)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parts, err := b.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.Client().OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: delivery.GroupID(agencyCode), Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}
