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
// Recorder is a ready fake for systems reached over HTTP. A failing case
// says what became of the events it waited for (dead-lettered, with the
// error and the attempts; committed but never delivered; still retrying),
// not only that it timed out. A harness whose system cannot fail in some
// way declares it with Features, and the cases that need it are skipped.
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
	"github.com/lienthong/lienthong/problem"
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

// Features says what a harness's fake system cannot be made to do, like
// Watermill's pubsub test features. The zero value claims everything: every
// case runs. A case that needs an Outcome the system lacks is skipped with
// t.Skip naming the feature, so the gap shows in `go test -v` instead of
// failing or silently passing. Claim a lack only when the real system has
// it too (a file drop that never refuses an event): each one skips part of
// the contract.
//
// No driver in this repository declares a lack: the webhook and the SOAP
// template both run every case.
type Features struct {
	// NoTransient: the system cannot fail in a way worth retrying, so its
	// responder never returns Transient. Skips RetriesTransientFailures,
	// RetryingDossierDoesNotBlockOthers and NoAcknowledgementBeforeSuccess.
	NoTransient bool
	// NoReject: the system never refuses an event for good (no Reject).
	// Skips DeadLettersPermanentFailures.
	NoReject bool
	// NoHang: the system cannot be made to hold a delivery until its
	// context ends (no Hang). Skips HonoursCancellation.
	NoHang bool
}

// FeatureHarness is a Harness that declares what its system cannot do;
// RunConformanceTests asks any harness that has the method.
type FeatureHarness interface {
	Harness
	Features() Features
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

// needs names the Features a case depends on.
type needs struct{ transient, reject, hang bool }

// missing returns the name of the first declared lack that a case needs, or "".
func (n needs) missing(f Features) string {
	switch {
	case n.transient && f.NoTransient:
		return "NoTransient (the system cannot fail transiently)"
	case n.reject && f.NoReject:
		return "NoReject (the system never refuses an event)"
	case n.hang && f.NoHang:
		return "NoHang (the system cannot hold a delivery)"
	}
	return ""
}

var cases = []struct {
	name  string
	needs needs
	run   func(*testing.T, Harness)
}{
	{"DeliversInOrderPerDossier", needs{}, testOrder},
	{"RetriesTransientFailures", needs{transient: true}, testRetry},
	{"DeadLettersPermanentFailures", needs{reject: true}, testDeadLetter},
	{"RetryingDossierDoesNotBlockOthers", needs{transient: true}, testNoHeadOfLine},
	{"HonoursCancellation", needs{hang: true}, testCancel},
	{"NoAcknowledgementBeforeSuccess", needs{transient: true}, testNoEarlyAck},
	{"NoLossAcrossRestart", needs{}, testRestart},
}

// RunConformanceTests runs every case against h, skipping those that need
// what h declares its system cannot do (see Features and FeatureHarness).
func RunConformanceTests(t *testing.T, h Harness) {
	var f Features
	if fh, ok := h.(FeatureHarness); ok {
		f = fh.Features()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if lack := c.needs.missing(f); lack != "" {
				t.Skipf("skipped: the harness declares Features.%s", lack)
			}
			c.run(t, h)
		})
	}
}

// Event returns the CloudEvent JSON of event n of a dossier, with id
// "<dossier>/<n>" so that order can be checked from what arrives.
func Event(dossier string, n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": EventID(dossier, n),
		"source": "urn:lienthong:router", "type": "dossier.status.changed",
		"subject": dossier, "time": "2026-03-03T08:15:00+07:00",
		"datacontenttype": "application/json", "data": map[string]any{"seq": n},
	})
	return b
}

// EventID is the id of event n of a dossier, as Event makes it.
func EventID(dossier string, n int) string { return fmt.Sprintf("%s/%d", dossier, n) }

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
	p := newProbe(t, c, sys)
	p.setResponder(nil)
	Publish(t, c, agency, 6, 8)
	Start(t, c, agency, d, Options())
	p.waitDelivered(30*time.Second, "every event", ids(6, 8, nil))
	CheckOrder(t, sys.Received())
}

func testRetry(t *testing.T, h Harness) {
	c := StartCluster(t, 2, agency)
	d, sys := h.MakeDriver(t, agency)
	p := newProbe(t, c, sys)
	// Every event of dossier 0 fails twice before it is accepted.
	p.setResponder(func(dl Delivery) Outcome {
		if dl.Subject == Dossier(0) && len(p.answers(dl.ID)) < 2 {
			return Transient
		}
		return Accept
	})
	Publish(t, c, agency, 3, 4)
	Start(t, c, agency, d, Options())
	p.waitDelivered(30*time.Second, "every event", ids(3, 4, nil))
	CheckOrder(t, sys.Received())
	for n := 1; n <= 4; n++ {
		id := EventID(Dossier(0), n)
		if a := p.answers(id); len(a) != 3 {
			t.Errorf("event %s (transient twice, then accepted) reached the system %d times, want 3: %s", id, len(a), outcomes(a))
		}
	}
	if dls := DeadLetters(t, c, agency, 0, time.Second); len(dls) != 0 {
		t.Errorf("%d dead letters, want none:\n%s", len(dls), describeDeadLetters(dls))
	}
}

func testDeadLetter(t *testing.T, h Harness) {
	c := StartCluster(t, 2, agency)
	d, sys := h.MakeDriver(t, agency)
	p := newProbe(t, c, sys)
	bad := EventID(Dossier(1), 2)
	p.setResponder(func(dl Delivery) Outcome {
		if dl.ID == bad {
			return Reject
		}
		return Accept
	})
	Publish(t, c, agency, 3, 4)
	Start(t, c, agency, d, Options())
	// Later events of the same dossier go on (documented choice).
	p.waitDelivered(30*time.Second, "every event but the refused one", ids(3, 4, func(id string) bool { return id == bad }))
	if unique(sys.Received())[bad] {
		t.Fatalf("refused event %s counted as received", bad)
	}
	dls := DeadLetters(t, c, agency, 1, 20*time.Second)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1 (of %s, refused by the system):\n%s%s", len(dls), bad, describeDeadLetters(dls), p.explain([]string{bad}))
	}
	m := dls[0]
	if string(m.Key) != Dossier(1) || string(m.Value) != string(Event(Dossier(1), 2)) {
		t.Errorf("dead letter key %s value %s: want the original record", m.Key, m.Value)
	}
	if e := kafkabus.Header(m, kafkabus.HeaderError); !strings.HasPrefix(e, problem.DeliveryRejected.URN()+" ") {
		t.Errorf("dead letter error header %q, want %s and the error: the driver did not mark the refusal adapters.Permanent", e, problem.DeliveryRejected.URN())
	}
	if a := kafkabus.Header(m, kafkabus.HeaderAttempts); a != "1" {
		t.Errorf("dead letter attempts %q, want 1 (a refusal is not retried): %s", a, outcomes(p.answers(bad)))
	}
}

func testNoHeadOfLine(t *testing.T, h Harness) {
	c := StartCluster(t, 1, agency) // one partition: every dossier shares it
	d, sys := h.MakeDriver(t, agency)
	p := newProbe(t, c, sys)
	p.setResponder(func(dl Delivery) Outcome {
		if dl.Subject == Dossier(0) {
			return Transient
		}
		return Accept
	})
	Publish(t, c, agency, 4, 5)
	o := Options()
	o.MaxAttempts = 1000
	Start(t, c, agency, d, o)
	failing := func(id string) bool { dossier, _ := seqOf(id); return dossier == Dossier(0) }
	p.waitDelivered(30*time.Second, "the dossiers other than the failing one", ids(4, 5, failing))
	for id := range unique(sys.Received()) {
		if failing(id) {
			t.Errorf("event %s of the failing dossier counted as received", id)
		}
	}
}

func testCancel(t *testing.T, h Harness) {
	d, sys := h.MakeDriver(t, agency)
	sys.SetResponder(func(Delivery) Outcome { return Hang })
	ctx, cancel := context.WithCancel(context.Background())
	body := Event(Dossier(0), 1)
	m := &adapters.Message{ID: EventID(Dossier(0), 1), Type: "dossier.status.changed", Subject: Dossier(0), Source: "urn:lienthong:router", Body: body, Attempt: 1, Agency: agency}
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
	p := newProbe(t, c, sys)
	var mu sync.Mutex
	healthy := false
	first := EventID(Dossier(0), 1)
	p.setResponder(func(dl Delivery) Outcome {
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
	p.waitDelivered(30*time.Second, "the events of the other dossiers", ids(3, 3, func(id string) bool { dossier, _ := seqOf(id); return dossier == Dossier(0) }))
	time.Sleep(3 * o.CommitInterval)
	if off := Committed(t, c, agency)[0]; off > 0 {
		t.Fatalf("committed offset %d while the record at offset 0 (%s, failing transiently) is undelivered:\n%s", off, first, p.explain([]string{first}))
	}
	stop()
	if off := Committed(t, c, agency)[0]; off > 0 {
		t.Fatalf("after shutdown, committed offset %d while the record at offset 0 (%s, failing transiently) is undelivered:\n%s", off, first, p.explain([]string{first}))
	}
	mu.Lock()
	healthy = true
	mu.Unlock()
	Start(t, c, agency, d, o)
	p.waitDelivered(30*time.Second, "every event after restart", ids(3, 3, nil))
	CheckOrder(t, sys.Received())
	p.waitFor(10*time.Second, fmt.Sprintf("the commit of every offset (%d)", total), nil, func() bool { return Committed(t, c, agency)[0] == int64(total) })
}

func testRestart(t *testing.T, h Harness) {
	c := StartCluster(t, 3, agency)
	d, sys := h.MakeDriver(t, agency)
	p := newProbe(t, c, sys)
	// A slow system and a short drain: the stop cuts deliveries off midway.
	p.setResponder(func(Delivery) Outcome { time.Sleep(5 * time.Millisecond); return Accept })
	total := Publish(t, c, agency, 10, 20)
	all := ids(10, 20, nil)
	o := Options()
	o.ShutdownTimeout = 20 * time.Millisecond
	stop := Start(t, c, agency, d, o)
	p.waitFor(30*time.Second, "a third of the events", all, func() bool { return len(sys.Received()) >= total/3 })
	stop()
	before := len(unique(sys.Received()))
	if before == total {
		t.Logf("every event was delivered before the stop took effect: the restart case is weak on this system")
	}
	Start(t, c, agency, d, Options())
	p.waitDelivered(60*time.Second, "every event after restart", all)
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := committedOffsets(ctx, c, agencyCode)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
